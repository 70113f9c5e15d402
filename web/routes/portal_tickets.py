"""Customer portal, the company's tickets (/portal/tickets): the list with its filters (status,
creation dates) and pages, and the "New ticket" form.

Only ever the customer's own company: the list is filtered on it in the query, and a new ticket
is always opened for it, whatever the form says. The list reads the tickets projection, never
Temporal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import attachments, ticket_input, tickets
from api.access import CUSTOMER, Principal, require, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep
from db.queries.paging import Page, page_number
from db.queries.tickets import TicketFilters, TicketRow, list_tickets
from i18n import N_
from web import ticket_labels
from web.date_filters import check_day_order, read_day, viewer_zone
from web.flash import flash
from web.forms import TEXT_LIMIT, Files, field_errors, list_url
from web.templating import locale_of, render, translate

router = APIRouter(
    prefix="/portal/tickets", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)

Viewer = Annotated[Principal, Depends(require("tickets.view", area=CUSTOMER))]
Creator = Annotated[Principal, Depends(require("tickets.create", area=CUSTOMER))]
Filter = Annotated[str, Query(max_length=TEXT_LIMIT)]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]

# What customers filter on: where the ticket stands for them, not the desk's seven statuses.
STATUS_GROUPS = {
    "open": ("open", "in_progress", "answered", "on_hold"),
    "waiting": ("waiting_on_customer",),
    "closed": ("resolved", "closed"),
}
STATUS_GROUP_LABELS = {
    "open": N_("In progress with support"),
    "waiting": N_("Awaiting your reply"),
    "closed": N_("Solved or closed"),
}
AWAITING_CUSTOMER = frozenset(STATUS_GROUPS["waiting"])
FILES_AGAIN = N_("Choose the files again: they were not kept.")


def input_errors(request: Request, problem: InputError, files) -> dict[str, str]:
    """The fields' errors, and a word on the files: a browser never sends them back, so a form
    that must be corrected needs them chosen again."""
    errors = field_errors(request, problem)
    if any(upload.filename for upload in files or []):
        errors.setdefault("attachments", translate(request, FILES_AGAIN))
    return errors


def _list_form(status: str, date_from: str, date_to: str) -> dict:
    return {
        "status": status if status in STATUS_GROUPS else "",
        "from": date_from.strip()[:20],
        "to": date_to.strip()[:20],
    }


@router.get("")
async def ticket_list(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    status: Filter = "",
    date_from: Annotated[str, Query(alias="from", max_length=TEXT_LIMIT)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=TEXT_LIMIT)] = "",
    page: Filter = "1",
) -> Response:
    form = _list_form(status, date_from, date_to)
    errors: dict[str, str] = {}
    first = read_day(form["from"], "from", errors, request)
    last = read_day(form["to"], "to", errors, request)
    check_day_order(first, last, errors, request)
    filters = TicketFilters(
        queue="all",
        customer_id=principal.customer_id,
        statuses=STATUS_GROUPS.get(form["status"], ()),
        created_from=first,
        created_to=last,
        time_zone=viewer_zone(principal, settings).key,
    )
    results: Page[TicketRow] = (
        Page([], 0, 1, 25)
        if errors or principal.customer_id is None
        else await list_tickets(db, principal.user_id, filters, page_number(page))
    )
    url = list_url("/portal/tickets", form)
    return render(
        request,
        "portal/tickets/index.html",
        {
            "principal": principal,
            "form": form,
            "errors": errors,
            "filtered": any(form.values()),
            "results": results,
            "url": url,
            "status_groups": STATUS_GROUP_LABELS,
            "awaiting_customer": AWAITING_CUSTOMER,
        },
        status_code=422 if errors else 200,
        block="results",
    )


async def _new_page(
    request: Request, db, form: dict, errors: dict, status_code: int = 200
) -> Response:
    return render(
        request,
        "portal/tickets/new.html",
        {
            "form": form,
            "errors": errors,
            "categories": await ticket_input.customer_categories(db),
            "priorities": ticket_labels.PRIORITY,
        },
        status_code=status_code,
    )


@router.get("/new")
async def new_ticket_form(request: Request, principal: Creator, db: SessionDep) -> Response:
    form = {
        "request_id": tickets.new_request_id(),
        "subject": "",
        "category_id": "",
        "priority": "medium",
        "body": "",
    }
    return await _new_page(request, db, form, {})


@router.post("")
async def open_ticket(
    request: Request,
    principal: Creator,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    request_id: Text = "",
    subject: Text = "",
    category_id: Text = "",
    priority: Text = "medium",
    body: Text = "",
    files: Files = None,
) -> Response:
    form = {
        "request_id": tickets.valid_request_id(request_id),
        "subject": subject,
        "category_id": category_id,
        "priority": priority,
        "body": body,
    }
    try:
        pending = await attachments.read_uploads(settings, files or [])
        opening = await ticket_input.new_ticket(
            # The ticket's id comes from the form's request id: a double submit opens one ticket.
            db, principal, request_id=ticket_input.request_key(principal, form["request_id"]),
            subject=subject, body=body,
            priority=priority, category_id=category_id or None, channel="portal",
            attachments=[], locale=locale_of(request),
        )  # fmt: skip
    except attachments.UploadRefused as refused:
        errors = {"attachments": translate(request, refused.message, **refused.variables)}
        return await _new_page(request, db, form, errors, status_code=422)
    except InputError as problem:
        return await _new_page(request, db, form, input_errors(request, problem, files), 422)
    await db.rollback()  # nothing to keep from the checks; free the connection while we wait
    opening.attachments = await attachments.store(settings, pending)
    try:
        view = await tickets.open_ticket(temporal, settings, opening)
    except tickets.TicketRefused as refused:
        errors = {"body": translate(request, refused.message)}
        return await _new_page(request, db, form, errors, status_code=422)
    response = RedirectResponse(f"/portal/tickets/{view.ticket_id}", status_code=303)
    flash(
        request,
        response,
        translate(request, "Ticket %(number)s is open. We will answer soon.", number=view.number),
        "success",
    )
    return response
