"""Mailbox passwords are stored encrypted with a key derived from SECRET_KEY for this purpose
only; the poller decrypts them just before connecting. Changing SECRET_KEY means typing the
passwords again."""

from __future__ import annotations

from api.identity.keys import fernet

PURPOSE = "mailbox-password"


def encrypt_password(secret_key: str, password: str) -> str:
    return fernet(secret_key, PURPOSE).encrypt(password.encode()).decode()


def decrypt_password(secret_key: str, encrypted: str) -> str:
    return fernet(secret_key, PURPOSE).decrypt(encrypted.encode()).decode()
