"""Keys derived from SECRET_KEY, one per purpose, so no two features ever share a key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet


def _derive(secret_key: str, purpose: str) -> bytes:
    return hmac.new(
        secret_key.encode(), f"cloudmanager:{purpose}".encode(), hashlib.sha256
    ).digest()


def fernet(secret_key: str, purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret_key, purpose)))


def keyed_hash(secret_key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 hex: for high-entropy secrets we only need to recognise (codes, tokens)."""
    return hmac.new(_derive(secret_key, purpose), value.encode(), hashlib.sha256).hexdigest()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def random_token(bytes_: int = 32) -> str:
    return secrets.token_urlsafe(bytes_)
