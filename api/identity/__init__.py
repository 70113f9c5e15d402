"""Identity and access: passwords, sessions, second factors, tokens, throttles, roles, accounts."""
