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
from web.forms import TEXT_LIMIT, Files, field_errors
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


async def _write(
    request: Request, db, settings, temporal, principal: Principal, ticket: Ticket, form: str,
    values: dict, files: list | None, request_id: str, build, method,
) -> str | Response:  # fmt: skip
    """Check the text and the files, store the files, send the update `build(message_id,
    text)` makes; the message's id, or the page again saying why not."""
    had_files = any(upload.filename for upload in files or [])
    try:
        pending = await attachments.read_uploads(settings, files or [])
        text = check_body(values["body"], pending)
    except attachments.UploadRefused as refused:
        message = translate(request, refused.message, **refused.variables)
        field, had_files = f"{form}_attachments", False
    except InputError as problem:
        message, field = field_errors(request, problem)["body"], form
    else:
        message_id = request_key(principal, request_id, ticket.id)
        change = await build(message_id, text)
        await db.commit()  # ends the reads (keeping the loaded rows): free the connection
        change.attachments = await attachments.store(settings, pending)
        try:
            await tickets.update(temporal, ticket.id, method, change)
            return message_id
        except tickets.TicketRefused as refused:
            message, field = translate(request, refused.message), form
    return await _refused(request, db, principal, ticket, form, values, field, message, had_files)


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
    if set_status not in REPLY_STATUSES or not principal.can(status_permission(set_status)):
        set_status = "answered"

    async def build(message_id: str, text: str) -> Reply:
        return Reply(message_id, tickets.author_of(principal), text, [], set_status)

    written = await _write(
        request, db, settings, temporal, principal, ticket, "reply", values, files, request_id,
        build, TicketWorkflow.reply,
    )  # fmt: skip
    if isinstance(written, Response):
        return written
    await stop_replying(db, ticket.id, principal.user_id)
    await db.commit()
    response = RedirectResponse(page_url(ticket, f"message-{written}"), status_code=303)
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

    async def build(message_id: str, text: str) -> AddNote:
        mentioned = await tickets.mentioned_staff(db, text)
        return AddNote(message_id, tickets.author_of(principal), text, [], mentioned)

    written = await _write(
        request, db, settings, temporal, principal, ticket, "note", {"body": body}, files,
        request_id, build, TicketWorkflow.add_note,
    )  # fmt: skip
    if isinstance(written, Response):
        return written
    response = RedirectResponse(page_url(ticket, f"message-{written}"), status_code=303)
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
