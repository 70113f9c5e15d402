"""The JSON shapes of /api/v1/tickets, for integrators and the OpenAPI description, and how
records become them (the desk's fields only ever for staff tokens)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.ticket_input import BODY_LIMIT, SUBJECT_LIMIT
from db.models import SupportGroup, Ticket, TicketCategory, User
from db.queries.ticket_conversation import ConversationMessage
from db.queries.tickets import TicketRow

Priority = Literal["low", "medium", "high", "urgent"]
Status = Literal[
    "open", "in_progress", "answered", "waiting_on_customer", "on_hold", "resolved", "closed"
]
ReplyStatus = Literal["answered", "waiting_on_customer", "on_hold", "resolved"]


REQUEST_ID = Field(
    None,
    max_length=200,
    description="The same as the `Idempotency-Key` header, for clients that cannot set headers; "
    "the header wins when both are sent.",
)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str | None = REQUEST_ID
    subject: str = Field(max_length=SUBJECT_LIMIT, examples=["Le VPS ne répond plus"])
    body: str = Field(max_length=BODY_LIMIT, examples=["Depuis 9 h, plus de réponse au ping."])
    priority: Priority = "medium"
    category_id: uuid.UUID | None = Field(None, description="One of the active categories.")
    customer_id: uuid.UUID | None = Field(
        None,
        description="Staff tokens: the customer the ticket is for (required). Customer tokens: "
        "ignored, a ticket is always for the token's own company.",
    )


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str | None = REQUEST_ID
    body: str = Field(max_length=BODY_LIMIT, examples=["Voici le journal demandé."])
    set_status: ReplyStatus | None = Field(
        None,
        description="Staff tokens only: the status the reply leaves the ticket in "
        "(default `answered`).",
    )


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status = Field(
        description="The new status. Customer tokens may set `resolved` or `closed`, and `open` "
        "to reopen a resolved or closed ticket within its reopen window."
    )


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int = Field(description="In bytes.")
    url: str = Field(description="Download address (same credentials).")


class MessageOut(BaseModel):
    id: uuid.UUID
    author_name: str
    author_kind: Literal["customer", "agent", "system"]
    internal: bool = Field(
        description="An internal note. Only ever present for staff tokens that carry the "
        "`tickets.reply` scope; customer tokens never see notes."
    )
    body: str
    channel: str
    created_at: datetime
    attachments: list[AttachmentOut]


class TicketOut(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["TCK-2026-000123"])
    subject: str
    status: Status
    priority: Priority
    customer_id: uuid.UUID
    category_name: str | None
    requester_name: str | None
    created_at: datetime
    updated_at: datetime
    # The desk's side: who works the ticket and its SLA. Null for customer tokens.
    assignee_id: uuid.UUID | None = Field(None, description="Staff tokens only.")
    assignee_name: str | None = Field(None, description="Staff tokens only.")
    group_name: str | None = Field(None, description="Staff tokens only.")
    sla_state: Literal["ok", "at_risk", "breached"] | None = Field(
        None, description="Staff tokens only."
    )
    tags: list[str] | None = Field(None, description="Staff tokens only.")


class TicketDetail(TicketOut):
    category_id: uuid.UUID | None
    follow_up_of_id: uuid.UUID | None = Field(description="The closed ticket this one continues.")
    merged_into_id: uuid.UUID | None = Field(description="Where this ticket's conversation went.")
    messages: list[MessageOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int
    page: int
    per_page: int
    pages: int


class ReplyOutcome(BaseModel):
    ticket: TicketDetail = Field(description="The ticket the message went to.")
    message_id: uuid.UUID
    follow_up: bool = Field(
        description="True when the ticket was closed beyond its reopen window: the message "
        "opened `ticket`, a new ticket linked to the one addressed."
    )


# -- from records to shapes --------------------------------------------------------------------

_DESK_FIELDS = ("assignee_id", "assignee_name", "group_name", "sla_state", "tags")


def summary_of(row: TicketRow, *, staff: bool) -> TicketOut:
    """A list row; the desk's fields only for staff."""
    values = {name: getattr(row, name) for name in TicketOut.model_fields}
    if not staff:
        values.update(dict.fromkeys(_DESK_FIELDS))
    return TicketOut(**values)


def _message_of(message: ConversationMessage) -> MessageOut:
    files = [
        AttachmentOut(
            id=file.id, filename=file.filename, content_type=file.content_type,
            size=file.size, url=f"/attachments/{file.id}",
        )
        for file in message.attachments
    ]  # fmt: skip
    return MessageOut(
        id=message.id, author_name=message.author_name, author_kind=message.author_kind,
        internal=message.internal, body=message.body, channel=message.channel,
        created_at=message.created_at, attachments=files,
    )  # fmt: skip


async def detail_of(
    db: AsyncSession, ticket: Ticket, messages: list[ConversationMessage], *, staff: bool
) -> TicketDetail:
    """One ticket with the messages the caller may read; the desk's fields only for staff."""
    category = await db.get(TicketCategory, ticket.category_id) if ticket.category_id else None
    requester = await db.get(User, ticket.requester_id) if ticket.requester_id else None
    desk = {}
    if staff:
        assignee = await db.get(User, ticket.assignee_id) if ticket.assignee_id else None
        group = await db.get(SupportGroup, ticket.group_id) if ticket.group_id else None
        desk = {
            "assignee_id": ticket.assignee_id,
            "assignee_name": assignee.full_name if assignee else None,
            "group_name": group.name if group else None,
            "sla_state": ticket.sla_state,
            "tags": list(ticket.tags or []),
        }
    return TicketDetail(
        id=ticket.id, number=ticket.number, subject=ticket.subject, status=ticket.status,
        priority=ticket.priority, customer_id=ticket.customer_id,
        category_id=ticket.category_id, category_name=category.name if category else None,
        requester_name=requester.full_name if requester else None,
        created_at=ticket.created_at, updated_at=ticket.updated_at,
        follow_up_of_id=ticket.follow_up_of_id, merged_into_id=ticket.merged_into_id,
        messages=[_message_of(message) for message in messages], **desk,
    )  # fmt: skip
