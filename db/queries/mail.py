"""Read queries for mail-to-ticket pages: mailboxes with their group, held and quarantined mail,
and the delivery of each outbound mail about a ticket's messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EmailOutbox, InboundMessage, Mailbox, SupportGroup

HELD_STATUSES = ("held", "quarantined")


@dataclass
class MailboxRow:
    mailbox: Mailbox
    group: str


async def mailbox_rows(db: AsyncSession) -> list[MailboxRow]:
    rows = await db.execute(
        select(Mailbox, SupportGroup.name)
        .outerjoin(SupportGroup, SupportGroup.id == Mailbox.group_id)
        .order_by(Mailbox.name)
    )
    return [MailboxRow(mailbox, group or "") for mailbox, group in rows.all()]


def held_mail_query(status: str | None = None):
    statuses = (status,) if status in HELD_STATUSES else HELD_STATUSES
    return (
        select(InboundMessage)
        .where(InboundMessage.status.in_(statuses))
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id)
    )


@dataclass
class Delivery:
    to: str
    status: str
    error: str


async def deliveries_by_message(
    db: AsyncSession, ticket_id: uuid.UUID
) -> dict[str, list[Delivery]]:
    """For a ticket's timeline: each message id → the mails sent about it and where they are
    (pending, sending, sent, deferred, failed, bounced)."""
    rows = await db.scalars(
        select(EmailOutbox)
        .where(
            EmailOutbox.subject_type == "ticket",
            EmailOutbox.subject_id == str(ticket_id),
            EmailOutbox.related_id != "",
        )
        .order_by(EmailOutbox.created_at)
    )
    found: dict[str, list[Delivery]] = {}
    for row in rows:
        found.setdefault(row.related_id, []).append(
            Delivery(row.to_address, row.status.value, row.last_error)
        )
    return found
