"""Back-office, the properties panel of a ticket: status (and reopen), priority, category,
group and agent, tags, watchers, and merging into another ticket of the same customer (asked,
then confirmed).

Each form sends one update to the ticket's workflow under its own request id and comes back to
the page (POST-redirect-GET) with a flash; a refusal — bad input here, or the workflow's
validator — shows the page again with the reason next to that form and the choice kept (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from api import tickets
from api.access import STAFF, Principal, require, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, TemporalDep
from api.ticket_desk import (
    check_priority,
    check_status,
    clean_tags,
    merge_candidate,
    parse_uuid,
    status_permission,
)
from api.ticket_input import request_key
from db.models import SupportGroup, TicketCategory, User, UserKind, UserStatus
from i18n import N_
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors
from web.routes.staff_ticket import load_ticket, page_url, ticket_page
from web.templating import translate
from workflows.ticket_messages import (
    Assign,
    Reopen,
    SetCategory,
    SetPriority,
    SetStatus,
    SetTags,
    Watch,
)
from workflows.tickets import TicketWorkflow

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("tickets.view", area=STAFF))]
Answerer = Annotated[Principal, Depends(require("tickets.reply", area=STAFF))]
Editor = Annotated[Principal, Depends(require("tickets.assign", area=STAFF))]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
SAVED = N_("Saved.")
REOPENED = N_("The ticket is open again.")
CHOOSE = N_("Choose from the list.")


async def _apply(
    request: Request, db, temporal, principal: Principal, ticket_id: str, form: str,
    values: dict[str, Any], build, method, done: str = "",
) -> Response:  # fmt: skip
    """Check the form (`build` returns the update's message, or raises `InputError`), send the
    update, and answer: back to the page with `done` (translated; "Saved." by default), or the
    page again with the reason next to `form`."""
    ticket = await load_ticket(db, principal, ticket_id)
    try:
        change = await build(ticket, request_key(principal, values["request_id"], ticket.id))
        # Ends the checks' reads, keeping the loaded rows (a rollback would expire them).
        await db.commit()
        await tickets.update(temporal, ticket.id, method, change)
    except InputError as problem:
        message = next(iter(field_errors(request, problem).values()))
    except tickets.TicketRefused as refused:
        message = translate(request, refused.message)
    else:
        response = RedirectResponse(page_url(ticket), status_code=303)
        flash(request, response, done or translate(request, SAVED), "success")
        return response
    await db.commit()
    return await ticket_page(
        request, db, principal, ticket, forms={form: values}, errors={form: message},
        status_code=422,
    )  # fmt: skip


@router.post("/{ticket_id}/status")
async def set_status(
    request: Request, ticket_id: str, principal: Answerer, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", status: Text = "",
) -> Response:  # fmt: skip
    async def build(ticket, key):
        errors: dict = {}
        check_status(status, "status", errors)
        if errors:
            raise InputError(errors)
        if not principal.can(status_permission(status)):
            raise HTTPException(status_code=403)
        return SetStatus(key, tickets.author_of(principal), status)

    values = {"request_id": request_id, "status": status}
    return await _apply(
        request, db, temporal, principal, ticket_id, "status", values, build,
        TicketWorkflow.set_status,
    )  # fmt: skip


@router.post("/{ticket_id}/reopen")
async def reopen(
    request: Request, ticket_id: str, principal: Answerer, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "",
) -> Response:  # fmt: skip
    async def build(ticket, key):
        return Reopen(key, tickets.author_of(principal))

    return await _apply(
        request, db, temporal, principal, ticket_id, "status", {"request_id": request_id},
        build, TicketWorkflow.reopen, translate(request, REOPENED),
    )  # fmt: skip


@router.post("/{ticket_id}/priority")
async def set_priority(
    request: Request, ticket_id: str, principal: Editor, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", priority: Text = "",
) -> Response:  # fmt: skip
    async def build(ticket, key):
        errors: dict = {}
        check_priority(priority, "priority", errors)
        if errors:
            raise InputError(errors)
        return SetPriority(key, tickets.author_of(principal), priority)

    values = {"request_id": request_id, "priority": priority}
    return await _apply(
        request, db, temporal, principal, ticket_id, "priority", values, build,
        TicketWorkflow.set_priority,
    )  # fmt: skip


async def _known(db, model, raw: str, field: str, **conditions) -> str | None:
    """The id of an existing `model` row (with `conditions`), None for the empty choice."""
    if not raw.strip():
        return None
    key = parse_uuid(raw)
    query = select(model.id).where(model.id == key)
    for column, value in conditions.items():
        query = query.where(getattr(model, column) == value)
    if key is None or await db.scalar(query) is None:
        raise InputError({field: (CHOOSE, {})})
    return str(key)


@router.post("/{ticket_id}/category")
async def set_category(
    request: Request, ticket_id: str, principal: Editor, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", category: Text = "",
) -> Response:  # fmt: skip
    async def build(ticket, key):
        chosen = await _known(db, TicketCategory, category, "category")
        return SetCategory(key, tickets.author_of(principal), chosen)

    values = {"request_id": request_id, "category": category}
    return await _apply(
        request, db, temporal, principal, ticket_id, "category", values, build,
        TicketWorkflow.set_category,
    )  # fmt: skip


@router.post("/{ticket_id}/assign")
async def assign(
    request: Request, ticket_id: str, principal: Editor, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", group: Text = "", assignee: Text = "",
) -> Response:  # fmt: skip
    async def build(ticket, key):
        group_id = await _known(db, SupportGroup, group, "assign")
        agent_id = await _known(
            db, User, assignee, "assign", kind=UserKind.STAFF, status=UserStatus.ACTIVE
        )
        return Assign(key, tickets.author_of(principal), group_id, agent_id)

    values = {"request_id": request_id, "group": group, "assignee": assignee}
    return await _apply(
        request, db, temporal, principal, ticket_id, "assign", values, build,
        TicketWorkflow.assign,
    )  # fmt: skip


@router.post("/{ticket_id}/tags")
async def set_tags(
    request: Request, ticket_id: str, principal: Editor, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", tags: Text = "",
) -> Response:  # fmt: skip
    async def build(ticket, key):
        errors: dict = {}
        chosen = clean_tags(tags, "tags", errors)
        if errors:
            raise InputError(errors)
        return SetTags(key, tickets.author_of(principal), chosen)

    values = {"request_id": request_id, "tags": tags}
    return await _apply(
        request, db, temporal, principal, ticket_id, "tags", values, build, TicketWorkflow.tag
    )


@router.post("/{ticket_id}/watchers")
async def watch(
    request: Request, ticket_id: str, principal: Viewer, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", user: Text = "", watching: Text = "",
) -> Response:  # fmt: skip
    """Anyone who sees the ticket may follow it or stop; adding or removing someone else takes
    `tickets.assign`."""

    async def build(ticket, key):
        chosen = await _known(db, User, user, "watch", kind=UserKind.STAFF) or ""
        if chosen != str(principal.user_id) and not principal.can("tickets.assign"):
            raise HTTPException(status_code=403)
        if not chosen:
            raise InputError({"watch": (CHOOSE, {})})
        return Watch(key, tickets.author_of(principal), chosen, bool(watching))

    values = {"request_id": request_id, "user": user}
    return await _apply(
        request, db, temporal, principal, ticket_id, "watch", values, build, TicketWorkflow.watch
    )


@router.post("/{ticket_id}/merge")
async def merge(
    request: Request, ticket_id: str, principal: Editor, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", number: Text = "", confirm: Text = "",
) -> Response:  # fmt: skip
    """Two steps: the number first (the page asks to confirm, naming the other ticket), then
    the merge itself, which `api.tickets.merge_into` checks (same customer, open, not itself)."""
    ticket = await load_ticket(db, principal, ticket_id)
    values = {"request_id": request_id, "number": number}
    target = await merge_candidate(db, ticket, number)
    if target is None:
        errors = {"merge": translate(request, tickets.REFUSALS["InvalidMerge"])}
        return await ticket_page(
            request, db, principal, ticket, forms={"merge": values}, errors=errors,
            status_code=422,
        )  # fmt: skip
    if confirm != "yes":
        return await ticket_page(request, db, principal, ticket, merge_into=target)
    key = request_key(principal, request_id, ticket.id)
    await db.commit()  # ends the reads, keeping the loaded rows
    try:
        await tickets.merge_into(
            temporal, db, ticket, target.number, tickets.author_of(principal), key
        )
    except tickets.TicketRefused as refused:
        await db.commit()
        errors = {"merge": translate(request, refused.message)}
        return await ticket_page(
            request, db, principal, ticket, forms={"merge": values}, errors=errors,
            status_code=422,
        )  # fmt: skip
    response = RedirectResponse(page_url(ticket), status_code=303)
    done = translate(request, "Merged into %(number)s.", number=target.number)
    flash(request, response, done, "success")
    return response
