"""The staff view of a ticket's history: messages and internal notes, the timeline events, and
the emails sent about it with their delivery state (`email_outbox`), in one list; each message's
own emails; plus the names the events refer to by id (agents, groups, categories).

"Why did the system do that?" (PRODUCT.md, 5): every rule, timer and email is on this list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EmailOutbox, SupportGroup, TicketCategory, User
from db.queries.ticket_conversation import (
    ConversationMessage,
    TimelineEvent,
    load_conversation,
)

# Events that only say "a message was written": the message itself stands on the timeline.
MESSAGE_EVENTS = frozenset({"replied", "customer_replied", "note_added"})


@dataclass(frozen=True)
class TicketEmail:
    id: uuid.UUID
    to_address: str
    subject: str
    status: str
    last_error: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    # The message it is about (its id), when it is about one.
    related_id: str = ""


Entry = ConversationMessage | TimelineEvent | TicketEmail


@dataclass
class Names:
    """Display names of the ids event data carries; an id no longer known stays unnamed."""

    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)


@dataclass
class StaffTimeline:
    entries: list[Entry]
    names: Names
    # Each message's emails (message id → emails about it), so the message shows whether it
    # reached its readers: sent, deferred, failed, bounced.
    deliveries: dict[str, list[TicketEmail]] = field(default_factory=dict)


async def ticket_emails(db: AsyncSession, ticket_id: uuid.UUID) -> list[TicketEmail]:
    rows = await db.scalars(
        select(EmailOutbox)
        .where(EmailOutbox.subject_type == "ticket", EmailOutbox.subject_id == str(ticket_id))
        .order_by(EmailOutbox.created_at, EmailOutbox.id)
    )
    return [
        TicketEmail(
            id=row.id,
            to_address=row.to_address,
            subject=row.subject,
            status=row.status.value,
            last_error=row.last_error,
            attempts=row.attempts,
            created_at=row.created_at,
            sent_at=row.sent_at,
            related_id=row.related_id,
        )
        for row in rows
    ]


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _ids(events: list[TimelineEvent], *keys: str) -> set[uuid.UUID]:
    """Every uuid found under `keys` in the events' data, also inside before/after pairs."""
    found = set()
    for event in events:
        for data in (event.data, event.data.get("before"), event.data.get("after")):
            if isinstance(data, dict):
                found.update(_uuid(data.get(key)) for key in keys)
    return found - {None}


def _category_ids(events: list[TimelineEvent]) -> set[uuid.UUID]:
    changes = [event.data for event in events if event.kind == "category_changed"]
    return {_uuid(data.get(side)) for data in changes for side in ("before", "after")} - {None}


async def _names(db: AsyncSession, events: list[TimelineEvent]) -> Names:
    names = Names()
    users = _ids(events, "assignee_id", "user_id")
    groups = _ids(events, "group_id", "group")
    categories = _category_ids(events)
    if users:
        rows = await db.execute(select(User.id, User.full_name).where(User.id.in_(users)))
        names.users = {str(row.id): row.full_name for row in rows}
    if groups:
        rows = await db.execute(
            select(SupportGroup.id, SupportGroup.name).where(SupportGroup.id.in_(groups))
        )
        names.groups = {str(row.id): row.name for row in rows}
    if categories:
        rows = await db.execute(
            select(TicketCategory.id, TicketCategory.name).where(TicketCategory.id.in_(categories))
        )
        names.categories = {str(row.id): row.name for row in rows}
    return names


def _order(entry: Entry) -> tuple[datetime, int]:
    # A change writes its message and its events at the same instant: message first, then what
    # it caused ("opened" before the assignment and SLA it led to), then the emails it sent.
    if isinstance(entry, ConversationMessage):
        return entry.created_at, 0
    if isinstance(entry, TimelineEvent):
        return entry.created_at, 1 if entry.kind == "opened" else 2
    return entry.created_at, 3


async def staff_timeline(
    db: AsyncSession, ticket_id: uuid.UUID, *, messages_only: bool = False
) -> StaffTimeline:
    """Oldest first. `messages_only` leaves out events and emails (the conversation view)."""
    conversation = await load_conversation(
        db, ticket_id, include_internal=True, include_events=not messages_only
    )
    events = [event for event in conversation.events if event.kind not in MESSAGE_EVENTS]
    emails = await ticket_emails(db, ticket_id)
    deliveries: dict[str, list[TicketEmail]] = {str(m.id): [] for m in conversation.messages}
    for email in emails:
        deliveries.get(email.related_id, []).append(email)
    listed = [] if messages_only else emails
    entries: list[Entry] = sorted([*conversation.messages, *events, *listed], key=_order)
    sent = {key: found for key, found in deliveries.items() if found}
    return StaffTimeline(entries, await _names(db, events), sent)
