"""Brute-force protection: failures counted per account and per IP address in PostgreSQL, with a
temporary lockout once a key passes its limit within the window. Every auth route (login,
second factor, password reset, email verification) counts against the same keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.identity.policies import ThrottlePolicy
from db.models import AuthThrottle


def account_key(identifier: str) -> str:
    # NUL cannot be stored in PostgreSQL text; keys are bounded like the column.
    return f"account:{identifier.strip().casefold().replace(chr(0), '')}"[:180]


def ip_key(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


async def locked_until(session: AsyncSession, keys: list[str]) -> datetime | None:
    """The latest unlock time among the keys that are locked now, if any."""
    return await session.scalar(
        select(func.max(AuthThrottle.locked_until)).where(
            AuthThrottle.key.in_(keys), AuthThrottle.locked_until > func.now()
        )
    )


_RECORD_FAILURE = text(
    # The intervals are cast: `now() - $1` alone would make PostgreSQL guess a timestamp.
    """
    INSERT INTO auth_throttles (key, failures, window_started_at, locked_until)
    VALUES (:key, 1, now(),
            CASE WHEN :max_failures <= 1 THEN now() + CAST(:lockout AS interval) END)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE
            WHEN auth_throttles.window_started_at < now() - CAST(:window AS interval)
            THEN 1 ELSE auth_throttles.failures + 1 END,
        window_started_at = CASE
            WHEN auth_throttles.window_started_at < now() - CAST(:window AS interval)
            THEN now() ELSE auth_throttles.window_started_at END,
        locked_until = CASE
            WHEN auth_throttles.window_started_at >= now() - CAST(:window AS interval)
                 AND auth_throttles.failures + 1 >= :max_failures
            THEN now() + CAST(:lockout AS interval)
            ELSE auth_throttles.locked_until END
    RETURNING CASE WHEN auth_throttles.locked_until > now() THEN auth_throttles.locked_until END
    """
)


async def record_failure(
    session: AsyncSession, key: str, policy: ThrottlePolicy
) -> datetime | None:
    """Count one failure (atomically, whatever other processes do); the lock it set, if any."""
    locked = await session.scalar(
        _RECORD_FAILURE,
        {
            "key": key,
            "max_failures": policy.max_failures,
            "window": policy.window,
            "lockout": policy.lockout,
        },
    )
    return locked


async def clear(session: AsyncSession, keys: list[str]) -> None:
    await session.execute(delete(AuthThrottle).where(AuthThrottle.key.in_(keys)))
