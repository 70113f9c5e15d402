"""Customer portal, one ticket (/portal/tickets/{id}): the conversation without internal notes,
the reply form with attachments, "my problem is solved" (close) and reopen within the window.

Another company's ticket answers 404, as an unknown one does. After the reopen window a reply
opens a follow-up ticket linked to this one (`api.tickets.customer_reply` decides); the page then
goes to the new ticket and says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import attachments, ticket_input, tickets
from api.access import CUSTOMER, Principal, require, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep
from api.ticket_views import live_view
from db.models import Ticket, TicketCategory
from db.queries.ticket_conversation import load_conversation, ticket_links
from i18n import N_
from web.flash import flash
from web.forms import TEXT_LIMIT
from web.routes.portal_tickets import Files, input_errors
from web.templating import is_fragment_request, locale_of, render, translate
from workflows.ticket_messages import Reopen, Reply, SetStatus
from workflows.tickets import TicketWorkflow

router = APIRouter(
    prefix="/portal/tickets", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)

Viewer = Annotated[Principal, Depends(require("tickets.view", area=CUSTOMER))]
Replier = Annotated[Principal, Depends(require("tickets.reply", area=CUSTOMER))]
Closer = Annotated[Principal, Depends(require("tickets.close", area=CUSTOMER))]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]

CLOSED = N_("Thank you! The ticket is closed. You can reopen it if the problem comes back.")
REOPENED = N_("The ticket is open again. Tell us what happened in a message.")
SENT = N_("Your message was sent.")
FOLLOWED_UP = N_("Ticket %(old)s was closed, so your message opened ticket %(new)s, linked to it.")


async def _ticket(db, principal: Principal, ticket_id: str) -> Ticket:
    ticket = await tickets.ticket_for(db, principal, ticket_id)
    if ticket is None:
        raise HTTPException(status_code=404)
    return ticket


def _page_url(ticket: Ticket | str, anchor: str = "") -> str:
    ticket_id = ticket if isinstance(ticket, str) else ticket.id
    return f"/portal/tickets/{ticket_id}" + (f"#{anchor}" if anchor else "")


async def _ticket_page(
    request: Request, db, temporal, principal: Principal, ticket: Ticket, *,
    reply: dict | None = None, errors: dict | None = None, status_code: int = 200,
    notice: dict | None = None,
) -> Response:  # fmt: skip
    category = await db.get(TicketCategory, ticket.category_id) if ticket.category_id else None
    # Only a closed ticket has a window to report; its workflow is the one to say until when.
    view = await live_view(temporal, ticket.id) if ticket.status == "closed" else None
    reopen_until = view.reopen_until if view else None
    reopenable = ticket.status == "resolved" or (
        reopen_until is not None and reopen_until >= datetime.now(UTC)
    )
    return render(
        request,
        "portal/tickets/show.html",
        {
            "principal": principal,
            "ticket": ticket,
            "category": category,
            "messages": (await load_conversation(db, ticket.id)).messages,
            "links": await ticket_links(db, ticket),
            "reopenable": reopenable and ticket.merged_into_id is None,
            "reopen_until": reopen_until,
            # A reply now opens a new ticket linked to this one.
            "window_passed": ticket.status == "closed" and not reopenable,
            "reply": reply or {"request_id": tickets.new_request_id(), "body": ""},
            "action_ids": {"close": tickets.new_request_id(), "reopen": tickets.new_request_id()},
            "errors": errors or {},
            "notice": notice,  # htmx answers only: plain forms redirect with a flash
        },
        status_code=status_code,
        block="ticket",
    )


@router.get("/{ticket_id}")
async def ticket_page(
    request: Request, ticket_id: str, principal: Viewer, db: SessionDep, temporal: TemporalDep
) -> Response:
    ticket = await _ticket(db, principal, ticket_id)
    return await _ticket_page(request, db, temporal, principal, ticket)


@router.post("/{ticket_id}/reply")
async def reply(
    request: Request,
    ticket_id: str,
    principal: Replier,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    request_id: Text = "",
    body: Text = "",
    files: Files = None,
) -> Response:
    ticket = await _ticket(db, principal, ticket_id)
    form = {"request_id": tickets.valid_request_id(request_id), "body": body}
    try:
        pending = await attachments.read_uploads(settings, files or [])
        text = ticket_input.check_body(body, pending)
    except attachments.UploadRefused as refused:
        errors = {"attachments": translate(request, refused.message, **refused.variables)}
        return await _ticket_page(
            request, db, temporal, principal, ticket, reply=form, errors=errors, status_code=422
        )
    except InputError as problem:
        return await _ticket_page(
            request, db, temporal, principal, ticket, reply=form,
            errors=input_errors(request, problem, files), status_code=422,
        )  # fmt: skip
    message = Reply(
        request_id=ticket_input.request_key(principal, form["request_id"], ticket.id),
        author=tickets.author_of(principal),
        body=text,
        attachments=await attachments.store(settings, pending),
    )
    try:
        outcome = await tickets.customer_reply(
            temporal, settings, db, ticket, message, channel="portal", locale=locale_of(request)
        )
    except tickets.TicketRefused as refused:
        errors = {"body": translate(request, refused.message)}
        return await _ticket_page(
            request, db, temporal, principal, ticket, reply=form, errors=errors, status_code=422
        )
    if outcome.follow_up:
        notice = translate(request, FOLLOWED_UP, old=ticket.number, new=outcome.view.number)
        return _done(request, _page_url(outcome.view.ticket_id), notice, "info", navigate=True)
    return await _answer(
        request, db, temporal, principal, ticket, SENT, anchor=f"message-{message.request_id}"
    )


def _done(request: Request, url: str, message: str, category, *, navigate=False) -> Response:
    """The plain form's answer: back to a page, with the outcome in a flash. An htmx request
    that must land on another page is told to navigate there (HX-Redirect)."""
    if navigate and is_fragment_request(request):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    flash(request, response, message, category)
    return response


async def _answer(
    request: Request, db, temporal, principal: Principal, ticket: Ticket, message: str, *,
    category: str = "success", anchor: str = "",
) -> Response:  # fmt: skip
    """After an action on the ticket: htmx gets the ticket block, fresh from the projection the
    workflow has just written, with the outcome; a plain form is redirected to the page."""
    text = translate(request, message)
    if not is_fragment_request(request):
        return _done(request, _page_url(ticket, anchor), text, category)
    await db.refresh(ticket)
    notice = {"category": category, "message": text}
    return await _ticket_page(request, db, temporal, principal, ticket, notice=notice)


async def _change(
    request: Request, db, temporal, principal: Principal, ticket: Ticket, update, message,
    done: str,
) -> Response:  # fmt: skip
    try:
        await tickets.update(temporal, ticket.id, update, message)
    except tickets.TicketRefused as refused:
        return await _answer(
            request, db, temporal, principal, ticket, refused.message, category="error"
        )
    return await _answer(request, db, temporal, principal, ticket, done)


@router.post("/{ticket_id}/close")
async def close(
    request: Request,
    ticket_id: str,
    principal: Closer,
    db: SessionDep,
    temporal: TemporalDep,
    request_id: Text = "",
) -> Response:
    """ "My problem is solved": the customer closes the ticket (it can be reopened within the
    window)."""
    ticket = await _ticket(db, principal, ticket_id)
    change = SetStatus(
        ticket_input.request_key(principal, request_id, ticket.id),
        tickets.author_of(principal),
        "closed",
    )
    return await _change(
        request, db, temporal, principal, ticket, TicketWorkflow.set_status, change, CLOSED
    )


@router.post("/{ticket_id}/reopen")
async def reopen(
    request: Request,
    ticket_id: str,
    principal: Replier,
    db: SessionDep,
    temporal: TemporalDep,
    request_id: Text = "",
) -> Response:
    ticket = await _ticket(db, principal, ticket_id)
    change = Reopen(
        ticket_input.request_key(principal, request_id, ticket.id), tickets.author_of(principal)
    )
    return await _change(
        request, db, temporal, principal, ticket, TicketWorkflow.reopen, change, REOPENED
    )
