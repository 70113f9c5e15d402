"""Read queries for mail-to-ticket pages: mailboxes with their group, held and quarantined mail.
The delivery of mail about a ticket's messages is on its timeline (db.queries.ticket_timeline)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import InboundMessage, Mailbox, SupportGroup

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
