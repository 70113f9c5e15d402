"""Links sent by email (verify address, reset password, invitation): random, stored hashed,
single-use and expiring. A used, expired or unknown token all read the same: invalid."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.identity.keys import random_token, sha256_hex
from db.models import OneTimeToken, OneTimeTokenPurpose

LIFETIMES = {
    OneTimeTokenPurpose.VERIFY_EMAIL: timedelta(days=2),
    OneTimeTokenPurpose.RESET_PASSWORD: timedelta(hours=1),
    OneTimeTokenPurpose.INVITATION: timedelta(days=7),
}


async def issue(db: AsyncSession, user_id: uuid.UUID, purpose: OneTimeTokenPurpose) -> str:
    token = random_token()
    now = await db.scalar(select(func.now()))
    db.add(
        OneTimeToken(
            token_hash=sha256_hex(token),
            user_id=user_id,
            purpose=purpose,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    await db.flush()
    return token


async def consume(db: AsyncSession, token: str, purpose: OneTimeTokenPurpose) -> uuid.UUID | None:
    """The user the token was issued to, once; None for every kind of invalid token."""
    return await db.scalar(
        update(OneTimeToken)
        .where(
            OneTimeToken.token_hash == sha256_hex(token),
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(OneTimeToken.user_id)
    )


async def owner(db: AsyncSession, token: str, purpose: OneTimeTokenPurpose) -> uuid.UUID | None:
    """Whose valid token this is, without using it (to show the reset form first)."""
    return await db.scalar(
        select(OneTimeToken.user_id).where(
            OneTimeToken.token_hash == sha256_hex(token),
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > func.now(),
        )
    )
