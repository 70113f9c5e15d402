"""Read queries over the email outbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EmailOutbox, EmailStatus

UNSETTLED = (EmailStatus.PENDING, EmailStatus.SENDING, EmailStatus.DEFERRED)


async def recent_emails(session: AsyncSession, limit: int = 20) -> list[EmailOutbox]:
    rows = await session.scalars(
        select(EmailOutbox).order_by(EmailOutbox.created_at.desc()).limit(limit)
    )
    return list(rows)


def any_unsettled(emails: list[EmailOutbox]) -> bool:
    return any(email.status in UNSETTLED for email in emails)
