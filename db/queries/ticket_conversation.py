"""The read side of one ticket's conversation, shared by the customer portal, the back-office
ticket page, the JSON API and the PDF export: its messages in order with their attachments, and
(for staff) the timeline events.

Internal notes are left out in the query itself unless the caller asks for them, so a page that
forgets the flag shows less, never more. Callers have already checked that the reader may see the
ticket (`api.tickets.ticket_for`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Ticket, TicketAttachment, TicketEvent, TicketMessage


@dataclass(frozen=True)
class MessageAttachment:
    id: uuid.UUID
    filename: str
    content_type: str
    size: int


@dataclass
class ConversationMessage:
    id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str
    author_kind: str  # customer, agent or system
    internal: bool
    body: str
    channel: str
    created_at: datetime
    attachments: list[MessageAttachment] = field(default_factory=list)


@dataclass(frozen=True)
class TimelineEvent:
    id: uuid.UUID
    kind: str  # status_changed, assigned, sla_breached, … (see workflows/tickets.py)
    actor_id: uuid.UUID | None
    actor_name: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class TicketLink:
    id: uuid.UUID
    number: str


@dataclass
class TicketLinks:
    """Where a conversation continues: the ticket this one follows up, the one it was merged
    into, and the follow-ups opened from it (a reply after its reopen window)."""

    follow_up_of: TicketLink | None = None
    merged_into: TicketLink | None = None
    follow_ups: list[TicketLink] = field(default_factory=list)


@dataclass
class Conversation:
    messages: list[ConversationMessage]
    events: list[TimelineEvent] = field(default_factory=list)

    def timeline(self) -> list[ConversationMessage | TimelineEvent]:
        """Messages and events in one list, oldest first. A change writes its message and its
        events at the same instant: the message comes first, then what it caused."""
        entries: list[ConversationMessage | TimelineEvent] = [*self.messages, *self.events]
        return sorted(entries, key=lambda e: (e.created_at, isinstance(e, TimelineEvent)))


async def ticket_messages(
    db: AsyncSession, ticket_id: uuid.UUID, *, include_internal: bool = False
) -> list[ConversationMessage]:
    """The ticket's messages, oldest first, each with its attachments. Without
    `include_internal`, internal notes (and so their files) are not read at all."""
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    if not include_internal:
        query = query.where(TicketMessage.internal.is_(False))
    # The id breaks ties so the order is the same on every read.
    rows = await db.scalars(query.order_by(TicketMessage.created_at, TicketMessage.id))
    messages = [
        ConversationMessage(
            id=row.id,
            author_id=row.author_id,
            author_name=row.author_name,
            author_kind=row.author_kind,
            internal=row.internal,
            body=row.body,
            channel=row.channel,
            created_at=row.created_at,
        )
        for row in rows
    ]
    if not messages:
        return messages
    by_id = {message.id: message for message in messages}
    files = await db.scalars(
        select(TicketAttachment)
        .where(TicketAttachment.message_id.in_(by_id))
        .order_by(TicketAttachment.filename, TicketAttachment.id)
    )
    for file in files:
        by_id[file.message_id].attachments.append(
            MessageAttachment(file.id, file.filename, file.content_type, file.size)
        )
    return messages


async def ticket_events(db: AsyncSession, ticket_id: uuid.UUID) -> list[TimelineEvent]:
    """The ticket's timeline events, oldest first. For staff only: they name agents, groups and
    rules that the customer's view does not show."""
    rows = await db.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return [
        TimelineEvent(row.id, row.kind, row.actor_id, row.actor_name, dict(row.data or {}),
                      row.created_at)
        for row in rows
    ]  # fmt: skip


async def load_conversation(
    db: AsyncSession,
    ticket_id: uuid.UUID,
    *,
    include_internal: bool = False,
    include_events: bool = False,
) -> Conversation:
    """What a ticket page shows: customers get the public messages; staff also get internal
    notes (`include_internal`) and the timeline events (`include_events`)."""
    messages = await ticket_messages(db, ticket_id, include_internal=include_internal)
    events = await ticket_events(db, ticket_id) if include_events else []
    return Conversation(messages, events)


async def ticket_links(db: AsyncSession, ticket: Ticket) -> TicketLinks:
    """The tickets linked to `ticket`. Links stay within one customer (a follow-up and a merge
    target are the same company's), so the reader of one may read the others."""
    ids = {ticket.follow_up_of_id, ticket.merged_into_id} - {None}
    rows = await db.execute(
        select(Ticket.id, Ticket.number, Ticket.follow_up_of_id)
        .where(
            Ticket.customer_id == ticket.customer_id,
            (Ticket.id.in_(ids)) | (Ticket.follow_up_of_id == ticket.id),
        )
        .order_by(Ticket.created_at, Ticket.id)
    )
    links = TicketLinks()
    for row in rows:
        link = TicketLink(row.id, row.number)
        if row.id == ticket.follow_up_of_id:
            links.follow_up_of = link
        if row.id == ticket.merged_into_id:
            links.merged_into = link
        if row.follow_up_of_id == ticket.id:
            links.follow_ups.append(link)
    return links
