"""What a stored inbound mail becomes for the ticket workflow: a new ticket (`OpenTicket`) or a
message on an existing one (`InboundEmail`). Built from the `inbound_messages` row alone, so the
poller's retries and an agent's decision on held mail produce the very same messages (same ids:
the mail's id is the message's, and the ticket's when it opens one).

Here, beside the records, because both sides build them: the poller's activities and the
back-office's held mail (api.held_mail); activities never import `api`. It only maps rows to the
workflow's message dataclasses (data, no Temporal) and finds the sender among our contacts."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Customer,
    CustomerKind,
    CustomerStatus,
    InboundMessage,
    User,
    UserKind,
    UserStatus,
)
from workflows.ticket_messages import Attachment, Author, InboundEmail, OpenTicket

SUBJECT_LIMIT = 200
# The customer record that holds unknown senders' tickets until an agent links them.
UNKNOWN_SENDERS_ID = uuid.UUID("5e0d3f7c-0b7e-4f54-9a4e-6b2f0c3c9a01")
UNKNOWN_SENDERS_NAME = "Unknown senders"


async def contact(db: AsyncSession, address: str) -> User | None:
    """The active customer user with this address (addresses are unique, ignoring case)."""
    if not address:
        return None
    return await db.scalar(
        select(User).where(
            func.lower(User.email) == address.lower(),
            User.kind == UserKind.CUSTOMER,
            User.status == UserStatus.ACTIVE,
        )
    )


async def unknown_senders(db: AsyncSession) -> uuid.UUID:
    await db.execute(
        insert(Customer)
        .values(
            id=UNKNOWN_SENDERS_ID, kind=CustomerKind.COMPANY, name=UNKNOWN_SENDERS_NAME,
            status=CustomerStatus.PROSPECT,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )  # fmt: skip
    return UNKNOWN_SENDERS_ID


def sender_label(row: InboundMessage) -> str:
    if row.from_name and row.from_address:
        return f"{row.from_name} <{row.from_address}>"[:200]
    return (row.from_name or row.from_address or "?")[:200]


def author_of(row: InboundMessage, user: User | None) -> Author:
    """The contact who wrote, or the sender as the mail names them (not a user of ours)."""
    if user is not None:
        return Author(str(user.id), user.full_name, "customer")
    return Author(None, sender_label(row), "customer")


def ticket_subject(row: InboundMessage) -> str:
    if row.subject.strip():
        return row.subject.strip()[:SUBJECT_LIMIT]
    first_line = next((line.strip() for line in row.body.splitlines() if line.strip()), "")
    return first_line[:SUBJECT_LIMIT] or "—"


def attachments_of(row: InboundMessage) -> list[Attachment]:
    return [Attachment(**stored) for stored in row.attachments]


def open_request(
    row: InboundMessage, author: Author, *, customer_id: str, group_id: str | None, locale: str,
    follow_up_of: str | None = None,
) -> OpenTicket:  # fmt: skip
    return OpenTicket(
        ticket_id=str(row.id),
        subject=ticket_subject(row),
        body=row.body,
        customer_id=customer_id,
        requester=author,
        channel="email",
        group_id=group_id,
        attachments=attachments_of(row),
        follow_up_of=follow_up_of,
        locale=locale,
    )


def appended(row: InboundMessage, author: Author) -> InboundEmail:
    return InboundEmail(
        request_id=str(row.id),
        author=author,
        body=row.body,
        attachments=attachments_of(row),
        automatic=row.kind == "auto_reply",
    )
