"""Back-office, writing on a ticket: the public reply (with "then set the status to …" and
attachments), the internal note (with @mentions, who get an email), and the canned reply
picker's htmx insertion into the reply box.

Every form carries a request id, turned into the message's id by `request_key`: a double submit
sends one message. Bad input or a refusal from the workflow shows the page again (422) with the
text kept and the reason next to the box; attached files must then be chosen again, and the
message says so.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import attachments, tickets
from api.access import STAFF, Principal, require, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep
from api.ticket_desk import status_permission
from api.ticket_input import check_body, request_key
from api.ticket_presence import stop_replying
from db.models import Ticket
from i18n import N_
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors
from web.routes.portal_tickets import Files
from web.routes.staff_ticket import insert_canned, load_ticket, page_url, ticket_page
from web.templating import is_fragment_request, render, translate
from workflows.ticket_messages import AddNote, Reply
from workflows.ticket_rules import REPLY_STATUSES
from workflows.tickets import TicketWorkflow

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Writer = Annotated[Principal, Depends(require("tickets.reply", area=STAFF))]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
FILES_AGAIN = N_("Choose the files again: they were not kept.")


async def _refused(
    request: Request, db, principal: Principal, ticket: Ticket, form: str, values: dict,
    field: str, message: str, had_files: bool,
) -> Response:  # fmt: skip
    errors = {field: message}
    if had_files and field == form:
        errors[f"{form}_attachments"] = translate(request, FILES_AGAIN)
    # Commit, not rollback: nothing was written, and a rollback would expire the loaded ticket.
    await db.commit()
    return await ticket_page(
        request, db, principal, ticket, forms={form: values}, errors=errors, status_code=422
    )


@router.post("/{ticket_id}/reply")
async def reply(
    request: Request,
    ticket_id: str,
    principal: Writer,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    request_id: Text = "",
    body: Text = "",
    set_status: Text = "answered",
    files: Files = None,
) -> Response:
    ticket = await load_ticket(db, principal, ticket_id)
    values = {"body": body, "set_status": set_status}
    had_files = any(upload.filename for upload in files or [])
    if set_status not in REPLY_STATUSES or not principal.can(status_permission(set_status)):
        set_status = "answered"
    try:
        pending = await attachments.read_uploads(settings, files or [])
        text = check_body(body, pending)
    except attachments.UploadRefused as refused:
        message = translate(request, refused.message, **refused.variables)
        return await _refused(
            request, db, principal, ticket, "reply", values, "reply_attachments", message, False
        )
    except InputError as problem:
        message = field_errors(request, problem)["body"]
        return await _refused(
            request, db, principal, ticket, "reply", values, "reply", message, had_files
        )
    message_id = request_key(principal, request_id, ticket.id)
    await db.commit()  # ends the read (keeping the loaded rows): free the connection meanwhile
    stored = await attachments.store(settings, pending)
    change = Reply(message_id, tickets.author_of(principal), text, stored, set_status)
    try:
        await tickets.update(temporal, ticket.id, TicketWorkflow.reply, change)
    except tickets.TicketRefused as refused:
        message = translate(request, refused.message)
        return await _refused(
            request, db, principal, ticket, "reply", values, "reply", message, had_files
        )
    await stop_replying(db, ticket.id, principal.user_id)
    await db.commit()
    response = RedirectResponse(page_url(ticket, f"message-{message_id}"), status_code=303)
    flash(request, response, translate(request, "Your reply was sent."), "success")
    return response


@router.post("/{ticket_id}/note")
async def note(
    request: Request,
    ticket_id: str,
    principal: Writer,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    request_id: Text = "",
    body: Text = "",
    files: Files = None,
) -> Response:
    ticket = await load_ticket(db, principal, ticket_id)
    values = {"body": body}
    had_files = any(upload.filename for upload in files or [])
    try:
        pending = await attachments.read_uploads(settings, files or [])
        text = check_body(body, pending)
    except attachments.UploadRefused as refused:
        message = translate(request, refused.message, **refused.variables)
        return await _refused(
            request, db, principal, ticket, "note", values, "note_attachments", message, False
        )
    except InputError as problem:
        message = field_errors(request, problem)["body"]
        return await _refused(
            request, db, principal, ticket, "note", values, "note", message, had_files
        )
    mentioned = await tickets.mentioned_staff(db, text)
    message_id = request_key(principal, request_id, ticket.id)
    await db.commit()  # ends the read (keeping the loaded rows): free the connection meanwhile
    stored = await attachments.store(settings, pending)
    change = AddNote(message_id, tickets.author_of(principal), text, stored, mentioned)
    try:
        await tickets.update(temporal, ticket.id, TicketWorkflow.add_note, change)
    except tickets.TicketRefused as refused:
        message = translate(request, refused.message)
        return await _refused(
            request, db, principal, ticket, "note", values, "note", message, had_files
        )
    response = RedirectResponse(page_url(ticket, f"message-{message_id}"), status_code=303)
    flash(request, response, translate(request, "Your note was added."), "success")
    return response


@router.post("/{ticket_id}/canned")
async def canned(
    request: Request,
    ticket_id: str,
    principal: Writer,
    db: SessionDep,
    body: Text = "",
    canned: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """htmx: the reply box again, with the canned reply added to what was typed. A plain
    request goes to the page's own no-JavaScript path (a GET that fills the box)."""
    ticket = await load_ticket(db, principal, ticket_id)
    if not is_fragment_request(request):
        target = f"{page_url(ticket)}?{urlencode({'canned': canned})}#reply"
        return RedirectResponse(target, status_code=303)
    text = await insert_canned(request, db, principal, ticket, canned, body)
    context = {"ticket": ticket, "forms": {"reply": {"body": text}}, "errors": {}}
    return render(request, "staff/tickets/show.html", context, block="reply_body")
