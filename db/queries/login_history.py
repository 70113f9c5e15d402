"""A person's own sign-in and security events, for their security page: the audit rows about
them whose action starts with `auth.` (successes, failures and why, 2FA and password events)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent

HISTORY_LENGTH = 50


async def login_history(
    db: AsyncSession, user_id: uuid.UUID, limit: int = HISTORY_LENGTH
) -> list[AuditEvent]:
    rows = await db.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "user",
            AuditEvent.target_id == str(user_id),
            AuditEvent.action.startswith("auth.", autoescape=True),
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(rows)
