"""Server-side sessions: the cookie carries a random token, PostgreSQL its SHA-256 and the rest.

Timeouts: idle (no request for `session_idle_minutes`) and absolute (`session_absolute_hours`
after sign-in, whatever the activity). A new id at every sign-in and after the second factor.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.identity.keys import random_token, sha256_hex
from api.identity.policies import SessionPolicy
from db.models import Session, User, UserStatus

# last_seen_at is written at most this often: every request would otherwise be a write.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


async def open_session(
    db: AsyncSession,
    user: User,
    policy: SessionPolicy,
    *,
    pending_second_factor: bool,
    ip: str | None,
    user_agent: str,
) -> tuple[str, Session]:
    token = random_token()
    now = await db.scalar(select(func.now()))
    record = Session(
        token_hash=sha256_hex(token),
        user_id=user.id,
        pending_second_factor=pending_second_factor,
        expires_at=now + policy.absolute,
        last_seen_at=now,
        ip_address=ip,
        user_agent=user_agent[:500],
    )
    db.add(record)
    await db.flush()
    return token, record


async def resolve_session(
    db: AsyncSession, token: str, policy: SessionPolicy
) -> tuple[Session, User] | None:
    """The live session and its user for a cookie token, or None (unknown, revoked, expired,
    idle too long, or the user can no longer sign in)."""
    row = (
        await db.execute(
            select(Session, User, func.now())
            .join(User, User.id == Session.user_id)
            .where(
                Session.token_hash == sha256_hex(token),
                Session.revoked_at.is_(None),
                Session.expires_at > func.now(),
                Session.last_seen_at > func.now() - policy.idle,
                User.status == UserStatus.ACTIVE,
            )
        )
    ).first()
    if row is None:
        return None
    record, user, now = row
    # Decided here, on the database's clock read with the row: most requests come within the
    # resolution and would send an UPDATE that changes nothing.
    if record.last_seen_at < now - LAST_SEEN_RESOLUTION:
        await db.execute(
            update(Session)
            .where(
                Session.id == record.id, Session.last_seen_at < func.now() - LAST_SEEN_RESOLUTION
            )
            .values(last_seen_at=func.now())
        )
    return record, user


async def revoke_session(
    db: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID | None
) -> bool:
    """Revoke one session; with `user_id`, only if it is that user's (404 otherwise)."""
    conditions = [Session.id == session_id, Session.revoked_at.is_(None)]
    if user_id is not None:
        conditions.append(Session.user_id == user_id)
    result = await db.execute(update(Session).where(*conditions).values(revoked_at=func.now()))
    return result.rowcount == 1


async def revoke_all_sessions(
    db: AsyncSession, user_id: uuid.UUID, *, except_session: uuid.UUID | None = None
) -> int:
    conditions = [Session.user_id == user_id, Session.revoked_at.is_(None)]
    if except_session is not None:
        conditions.append(Session.id != except_session)
    result = await db.execute(update(Session).where(*conditions).values(revoked_at=func.now()))
    return result.rowcount


async def active_sessions(
    db: AsyncSession, user_id: uuid.UUID, policy: SessionPolicy
) -> list[Session]:
    rows = await db.scalars(
        select(Session)
        .where(
            Session.user_id == user_id,
            Session.revoked_at.is_(None),
            Session.pending_second_factor.is_(False),
            Session.expires_at > func.now(),
            Session.last_seen_at > func.now() - policy.idle,
        )
        .order_by(Session.last_seen_at.desc())
    )
    return list(rows)
