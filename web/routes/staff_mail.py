"""Back-office, held and quarantined mail (/staff/mail): mail the poller would not put on a
ticket by itself (another company's ticket number, an auto-reply that threads nowhere, spam).
An agent reads the whole original and accepts it as a new ticket, attaches it to a ticket, or
discards it. Any inbound mail's original (/staff/mail/{id}) and raw .eml stay viewable."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.responses import Response

from api import held_mail
from api.access import STAFF, Principal, require, signed_in
from api.attachments import UploadRefused, stored_path
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from api.tickets import TicketRefused
from db.queries.mail import HELD_STATUSES, held_mail_query
from db.queries.paging import Page, page_number, total_of
from web.forms import id_or_404
from web.routes.attachments import FILE_HEADERS, content_disposition
from web.staff_sidebar import load_ticket_queue_counts
from web.support_pages import Text, back_to, missing_is_404
from web.templating import render, translate

router = APIRouter(
    prefix="/staff/mail", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)
Viewer = Annotated[Principal, Depends(require("tickets.view", area=STAFF))]
Decider = Annotated[Principal, Depends(require("tickets.reply", area=STAFF))]
Short = Annotated[str, Query(max_length=20)]
PER_PAGE = 25
LIST = "/staff/mail"


@router.get("", dependencies=[Depends(load_ticket_queue_counts)])
async def held_list(
    request: Request, principal: Viewer, db: SessionDep,
    status: Short = "", page: Short = "",
) -> Response:  # fmt: skip
    status = status if status in HELD_STATUSES else ""
    number = page_number(page)
    query = held_mail_query(status or None)
    rows = list(await db.scalars(query.limit(PER_PAGE).offset((number - 1) * PER_PAGE)))
    results = Page(rows, await total_of(db, query), number, PER_PAGE)

    def url(**changes) -> str:
        values = {"status": status, "page": None, **changes}
        query_string = urlencode({k: v for k, v in values.items() if v})
        return f"{LIST}?{query_string}" if query_string else LIST

    return render(
        request,
        "staff/mail/index.html",
        {"principal": principal, "results": results, "status": status, "url": url},
        block="results",
    )


@router.get("/{mail_id}", dependencies=[Depends(load_ticket_queue_counts)])
async def mail_page(request: Request, mail_id: str, principal: Viewer, db: SessionDep):
    with missing_is_404():
        row = await held_mail.find_mail(db, id_or_404(mail_id))
    return _page(request, principal, row)


def _page(request, principal, row, *, error: str = "", number: str = "", status_code=200):
    return render(
        request,
        "staff/mail/detail.html",
        {"principal": principal, "mail": row, "held": row.status in HELD_STATUSES,
         "refused_files": [_refusal(file) for file in row.refused_files],
         "error": error, "number": number},
        status_code=status_code,
    )  # fmt: skip


def _refusal(file: dict) -> UploadRefused:
    """Why a file of the mail was not kept, in words (the checks stored their reason)."""
    return UploadRefused.explaining(file["reason"], file["filename"], **file["variables"])


@router.get("/{mail_id}/original.eml")
async def original(mail_id: str, principal: Viewer, db: SessionDep, settings: SettingsDep):
    with missing_is_404():
        row = await held_mail.find_mail(db, id_or_404(mail_id))
    path = stored_path(settings, row.raw_sha256)
    if not await asyncio.to_thread(path.is_file):
        raise HTTPException(status_code=404)
    disposition = content_disposition("attachment", "original.eml")
    headers = {**FILE_HEADERS, "Content-Disposition": disposition}
    return FileResponse(path, media_type="message/rfc822", headers=headers)


@router.post("/{mail_id}/accept")
async def accept(
    request: Request, mail_id: str, principal: Decider, db: SessionDep, settings: SettingsDep,
    client: TemporalDep,
) -> Response:  # fmt: skip
    target = id_or_404(mail_id)
    try:
        with missing_is_404():
            await held_mail.accept(db, client, settings, actor_of(request), target)
    except (held_mail.HeldMailRefused, TicketRefused) as refused:
        return await _refused(request, principal, db, target, refused.message)
    return back_to(request, f"/staff/mail/{target}", translate(request, "Ticket opened."))


@router.post("/{mail_id}/attach")
async def attach(
    request: Request, mail_id: str, principal: Decider, db: SessionDep, settings: SettingsDep,
    client: TemporalDep, number: Text = "",
) -> Response:  # fmt: skip
    target = id_or_404(mail_id)
    try:
        with missing_is_404():
            landed = await held_mail.attach(db, client, settings, actor_of(request), target, number)
    except (held_mail.HeldMailRefused, TicketRefused) as refused:
        return await _refused(request, principal, db, target, refused.message, number)
    message = translate(request, "Added to ticket %(number)s.", number=landed)
    return back_to(request, f"/staff/mail/{target}", message)


@router.post("/{mail_id}/discard")
async def discard(request: Request, mail_id: str, principal: Decider, db: SessionDep):
    target = id_or_404(mail_id)
    try:
        with missing_is_404():
            await held_mail.discard(db, actor_of(request), target)
    except held_mail.HeldMailRefused as refused:
        return await _refused(request, principal, db, target, refused.message)
    return back_to(request, LIST, translate(request, "The mail was discarded."))


async def _refused(request, principal, db, target, message: str, number: str = "") -> Response:
    await db.rollback()
    row = await held_mail.find_mail(db, target)
    return _page(
        request, principal, row, error=translate(request, message), number=number,
        status_code=422,
    )  # fmt: skip
