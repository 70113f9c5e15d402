"""Tickets for integrators (/api/v1/tickets): open, list, read, reply, change the status.

Tokens carry scopes (permission strings, never more than the user's roles grant today):
`tickets.view` to list and read, `tickets.create` to open, `tickets.reply` to write and reopen,
`tickets.close` to resolve or close. A customer's token sees its own company only: another
company's ticket answers 404, as an unknown one does. Internal notes never reach customer tokens,
and reach staff tokens only with `tickets.reply` (the scope of those who work the desk).

An `Idempotency-Key` header makes a POST safe to retry: the same key from the same user opens one
ticket, sends one message, applies one change.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

import i18n
from api import ticket_input, tickets
from api.access import Principal, require
from api.identity.accounts import InputError
from api.routes.auth import BEARER_SCHEME
from api.routes.deps import SessionDep, SettingsDep, TemporalDep
from api.routes.problems import ProblemError, problem_responses
from api.routes.ticket_schemas import (
    MessageCreate,
    Priority,
    ReplyOutcome,
    Status,
    StatusChange,
    TicketCreate,
    TicketDetail,
    TicketPage,
    detail_of,
    summary_of,
)
from db.models import Ticket
from db.queries.ticket_conversation import load_conversation
from db.queries.tickets import TicketFilters, list_tickets
from workflows.ticket_messages import Reopen, Reply, SetStatus
from workflows.ticket_rules import is_resolved
from workflows.tickets import TicketWorkflow

router = APIRouter(prefix="/tickets", tags=["tickets"], dependencies=[Depends(BEARER_SCHEME)])

Viewer = Annotated[Principal, Depends(require("tickets.view"))]
Creator = Annotated[Principal, Depends(require("tickets.create"))]
Replier = Annotated[Principal, Depends(require("tickets.reply"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Any string unique to this request (a UUID is best); a retry with the same "
        "key applies once and answers as the first time.",
    ),
]
MAX_PER_PAGE = 100
# A refusal by the ticket's state is a conflict; a malformed message is the client's input.
REFUSAL_STATUS = {"NotAllowed": 403, "EmptyMessage": 422, "InvalidPriority": 422}
CLOSING = frozenset({"resolved", "closed"})


def _refused(refused: tickets.TicketRefused) -> ProblemError:
    detail = i18n.localise("en", refused.message)
    return ProblemError(REFUSAL_STATUS.get(refused.kind, 409), detail, kind=refused.kind)


def _invalid(problem: InputError) -> ProblemError:
    errors = [
        {"loc": ["body", name], "msg": i18n.localise("en", message, **variables), "type": "value"}
        for name, (message, variables) in problem.errors.items()
    ]
    return ProblemError(422, "The request is not valid.", errors=errors)


def _forbidden(permission: str) -> ProblemError:
    return ProblemError(403, f"This needs the {permission} scope.")


async def _ticket(db: AsyncSession, principal: Principal, ticket_id: str) -> Ticket:
    ticket = await tickets.ticket_for(db, principal, ticket_id)
    if ticket is None:
        raise ProblemError(404, "No such ticket.")
    return ticket


async def _detail(db: AsyncSession, principal: Principal, ticket_id: uuid.UUID) -> TicketDetail:
    # A fresh read: the workflow has just written the projection through its activity.
    ticket = await db.get(Ticket, ticket_id, populate_existing=True)
    notes = principal.is_staff and principal.can("tickets.reply")
    conversation = await load_conversation(db, ticket_id, include_internal=notes)
    return await detail_of(db, ticket, conversation.messages, staff=principal.is_staff)


@router.post(
    "",
    status_code=201,
    response_model=TicketDetail,
    summary="Open a ticket",
    description="Needs `tickets.create`. Customer tokens open it for their own company; staff "
    "tokens name the customer. Answers with the ticket and its number; `Location` is its address.",
    responses=problem_responses(401, 403, 409, 422),
)
async def open_ticket(
    body: TicketCreate,
    principal: Creator,
    response: Response,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketDetail:
    key = ticket_input.request_key(principal, idempotency_key or body.request_id)
    try:
        opening = await ticket_input.new_ticket(
            db, principal, request_id=key,
            subject=body.subject, body=body.body, priority=body.priority,
            category_id=str(body.category_id) if body.category_id else None, channel="api",
            customer_id=str(body.customer_id) if body.customer_id else None,
            locale=principal.user.locale or settings.default_locale,
        )  # fmt: skip
    except InputError as problem:
        raise _invalid(problem) from problem
    await db.rollback()  # nothing to keep from the checks; free the connection while we wait
    try:
        view = await tickets.open_ticket(temporal, settings, opening)
    except tickets.TicketRefused as refused:
        raise _refused(refused) from refused
    response.headers["Location"] = f"/api/v1/tickets/{view.ticket_id}"
    return await _detail(db, principal, uuid.UUID(view.ticket_id))


@router.get(
    "",
    response_model=TicketPage,
    summary="List tickets",
    description="Needs `tickets.view`. Customer tokens list their own company's tickets only. "
    "Days are in the user's time zone; the newest change first.",
    responses=problem_responses(401, 403, 422),
)
async def list_all(
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Staff tokens only.")] = None,
    created_from: Annotated[date | None, Query(description="Inclusive.")] = None,
    created_to: Annotated[date | None, Query(description="Inclusive.")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> TicketPage:
    filters = TicketFilters(
        queue="all",
        statuses=tuple(status or ()),
        priorities=tuple(priority or ()),
        customer_id=customer_id if principal.is_staff else principal.customer_id,
        created_from=created_from,
        created_to=created_to,
        time_zone=principal.user.time_zone or settings.time_zone,
    )
    if not principal.is_staff and principal.customer_id is None:
        return TicketPage(items=[], total=0, page=1, per_page=per_page, pages=1)
    found = await list_tickets(db, principal.user_id, filters, page, per_page)
    return TicketPage(
        items=[summary_of(row, staff=principal.is_staff) for row in found.items],
        total=found.total,
        page=found.number,
        per_page=found.per_page,
        pages=found.pages,
    )


@router.get(
    "/{ticket_id}",
    response_model=TicketDetail,
    summary="Read a ticket and its conversation",
    description="Needs `tickets.view`. Messages oldest first, with their attachments. Internal "
    "notes never for customer tokens; for staff tokens only with `tickets.reply`.",
    responses=problem_responses(401, 403, 404),
)
async def read(ticket_id: str, principal: Viewer, db: SessionDep) -> TicketDetail:
    ticket = await _ticket(db, principal, ticket_id)
    return await _detail(db, principal, ticket.id)


@router.post(
    "/{ticket_id}/messages",
    status_code=201,
    response_model=ReplyOutcome,
    summary="Reply to a ticket",
    description="Needs `tickets.reply`. A customer's message to a ticket closed beyond its "
    "reopen window opens a new ticket linked to it (`follow_up` is then true).",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reply(
    ticket_id: str,
    body: MessageCreate,
    principal: Replier,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> ReplyOutcome:
    ticket = await _ticket(db, principal, ticket_id)
    if body.set_status and not principal.is_staff:
        raise _invalid(InputError({"set_status": ("Staff tokens only.", {})}))
    try:
        text = ticket_input.check_body(body.body)
    except InputError as problem:
        raise _invalid(problem) from problem
    message = Reply(
        request_id=ticket_input.request_key(
            principal, idempotency_key or body.request_id, ticket.id
        ),
        author=tickets.author_of(principal),
        body=text,
        set_status=body.set_status,
    )
    follow_up = False
    try:
        if principal.is_staff:
            view = await tickets.update(temporal, ticket.id, TicketWorkflow.reply, message)
        else:
            outcome = await tickets.customer_reply(
                temporal, settings, db, ticket, message, channel="api",
                locale=principal.user.locale or settings.default_locale,
            )  # fmt: skip
            view, follow_up = outcome.view, outcome.follow_up
    except tickets.TicketRefused as refused:
        raise _refused(refused) from refused
    return ReplyOutcome(
        ticket=await _detail(db, principal, uuid.UUID(view.ticket_id)),
        message_id=uuid.UUID(message.request_id),
        follow_up=follow_up,
    )


@router.post(
    "/{ticket_id}/status",
    response_model=TicketDetail,
    summary="Change a ticket's status",
    description="`resolved` and `closed` need `tickets.close`; other statuses, and `open` to "
    "reopen a resolved or closed ticket within its window, need `tickets.reply`. Customer "
    "tokens may only resolve, close or reopen.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def change_status(
    ticket_id: str,
    body: StatusChange,
    principal: Viewer,
    db: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketDetail:
    ticket = await _ticket(db, principal, ticket_id)
    needed = "tickets.close" if body.status in CLOSING else "tickets.reply"
    if not principal.can(needed):
        raise _forbidden(needed)
    key = ticket_input.request_key(principal, idempotency_key, ticket.id)
    author = tickets.author_of(principal)
    try:
        if body.status == "open" and is_resolved(ticket.status):
            await tickets.update(temporal, ticket.id, TicketWorkflow.reopen, Reopen(key, author))
        else:
            change = SetStatus(key, author, body.status)
            await tickets.update(temporal, ticket.id, TicketWorkflow.set_status, change)
    except tickets.TicketRefused as refused:
        raise _refused(refused) from refused
    return await _detail(db, principal, ticket.id)
