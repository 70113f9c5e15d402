"""TOTP second factor (RFC 6238, pyotp) and single-use backup codes.

A code is accepted for the current 30-second step and one step either side (clock drift), and
only for a step later than the last one accepted: the compare-and-set in `consume_step` makes a
code, and every other code of an already used step, single-use even when two requests race.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.identity.keys import fernet, keyed_hash
from db.models import BackupCode, User

STEP_SECONDS = 30
DRIFT_STEPS = 1
BACKUP_CODE_COUNT = 10
ISSUER = "CloudManager"
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()


def encrypt_secret(secret_key: str, secret: str) -> str:
    return fernet(secret_key, "totp").encrypt(secret.encode()).decode()


def decrypt_secret(secret_key: str, encrypted: str) -> str:
    return fernet(secret_key, "totp").decrypt(encrypted.encode()).decode()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """An inline SVG (rendered here, no third-party service ever sees the secret)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#111827", light="#ffffff")


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((at if at is not None else time.time()) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


async def consume_step(db: AsyncSession, user_id: uuid.UUID, step: int) -> bool:
    result = await db.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


def _normalise_backup_code(code: str) -> str:
    return "".join(character for character in code.lower() if character.isalnum())


def _backup_hash(secret_key: str, code: str) -> str:
    return keyed_hash(secret_key, "backup-code", _normalise_backup_code(code))


async def regenerate_backup_codes(
    db: AsyncSession, secret_key: str, user_id: uuid.UUID
) -> list[str]:
    """Ten new codes, shown once; the old ones stop working."""
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user_id))
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.add_all(
        BackupCode(user_id=user_id, code_hash=_backup_hash(secret_key, code)) for code in codes
    )
    await db.flush()
    return codes


async def consume_backup_code(
    db: AsyncSession, secret_key: str, user_id: uuid.UUID, code: str
) -> bool:
    result = await db.execute(
        update(BackupCode)
        .where(
            BackupCode.user_id == user_id,
            BackupCode.code_hash == _backup_hash(secret_key, code),
            BackupCode.used_at.is_(None),
        )
        .values(used_at=func.now())
    )
    return result.rowcount == 1


async def remaining_backup_codes(db: AsyncSession, user_id: uuid.UUID) -> int:
    return await db.scalar(
        select(func.count()).where(BackupCode.user_id == user_id, BackupCode.used_at.is_(None))
    )
