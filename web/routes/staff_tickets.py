"""Back-office ticket list (/staff/tickets): the queues (mine, unassigned, my groups, at risk,
breached, all) with filters, full-text and number search, sorts and pages. The same rows as a
CSV download are `web.routes.staff_tickets_export`.

Both read the tickets projection in PostgreSQL, never Temporal (see ARCHITECTURE.md, "Source of
truth"). The bulk actions form posts to /staff/tickets/bulk (`web.routes.staff_tickets_bulk`),
which shows this list again (`list_page`) when it refuses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from api.access import STAFF, Principal, require, signed_in
from api.routes.deps import SessionDep, SettingsDep
from api.settings import Settings
from api.tickets import new_request_id
from db.queries.paging import Page, page_number
from db.queries.tickets import (
    DEFAULT_QUEUE,
    DEFAULT_SORT,
    DESCENDING_FIRST,
    QUEUES,
    SORTS,
    TicketFilters,
    TicketRow,
    known_priorities,
    known_statuses,
    list_tickets,
    ticket_choices,
)
from web import ticket_labels
from web.date_filters import check_day_order, read_day, viewer_zone
from web.forms import TEXT_LIMIT, list_url
from web.staff_sidebar import load_ticket_queue_counts
from web.templating import render, translate

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("tickets.view", area=STAFF))]
Filter = Annotated[str, Query(max_length=TEXT_LIMIT)]  # long filters are cut, not refused
Values = Annotated[list[str] | None, Query()]

SEARCH_LIMIT = 200
TAG_LIMIT = 40  # a tag column holds at most this many characters
# The filters besides the queue: when one is set, the empty state offers to clear them.
FILTER_KEYS = (
    "status", "priority", "category", "group", "assignee", "tag", "customer", "customer_id",
    "from", "to", "q",
)  # fmt: skip


def _clean(value: str, limit: int = SEARCH_LIMIT) -> str:
    # PostgreSQL text cannot hold NUL: such a filter could match nothing anyway.
    return value.replace("\x00", "").strip()[:limit]


def _id_text(raw: str) -> str:
    """A uuid as typed in a select, or "" when it is not one (an edited URL)."""
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        return ""


async def list_form(
    queue: Filter = DEFAULT_QUEUE,
    status: Values = None,
    priority: Values = None,
    category: Filter = "",
    group: Filter = "",
    assignee: Filter = "",
    tag: Filter = "",
    customer: Filter = "",
    customer_id: Filter = "",
    date_from: Annotated[str, Query(alias="from", max_length=TEXT_LIMIT)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=TEXT_LIMIT)] = "",
    q: Filter = "",
    sort: Filter = DEFAULT_SORT,
    dir: Filter = "",
) -> dict:
    """The list's query string, cleaned: what the form shows back and the links carry on."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    natural_dir = "desc" if sort in DESCENDING_FIRST else "asc"
    return {
        "queue": queue if queue in QUEUES else DEFAULT_QUEUE,
        "status": list(known_statuses(status or [])),
        "priority": list(known_priorities(priority or [])),
        "category": _id_text(category),
        "group": _id_text(group),
        "assignee": _id_text(assignee),
        "tag": _clean(tag, TAG_LIMIT),
        "customer": _clean(customer),
        "customer_id": _id_text(customer_id),
        "from": _clean(date_from, 20),
        "to": _clean(date_to, 20),
        "q": _clean(q),
        "sort": sort if sort != DEFAULT_SORT else "",
        "dir": dir if dir in ("asc", "desc") and dir != natural_dir else "",
    }


ListForm = Annotated[dict, Depends(list_form)]


def _uuid(text: str) -> uuid.UUID | None:
    return uuid.UUID(text) if text else None


def read_filters(
    request: Request, form: dict, zone: ZoneInfo
) -> tuple[TicketFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    first = read_day(form["from"], "from", errors, request)
    last = read_day(form["to"], "to", errors, request)
    check_day_order(first, last, errors, request)
    sort = form["sort"] or DEFAULT_SORT
    natural_descending = sort in DESCENDING_FIRST
    filters = TicketFilters(
        queue=form["queue"],
        statuses=tuple(form["status"]),
        priorities=tuple(form["priority"]),
        category_id=_uuid(form["category"]),
        group_id=_uuid(form["group"]),
        assignee_id=_uuid(form["assignee"]),
        tag=form["tag"],
        customer_id=_uuid(form["customer_id"]),
        customer=form["customer"],
        created_from=first,
        created_to=last,
        time_zone=zone.key,
        search=form["q"],
        sort=sort,
        descending=not natural_descending if form["dir"] else natural_descending,
    )
    return filters, errors


@router.get("", dependencies=[Depends(load_ticket_queue_counts)])
async def ticket_list(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    form: ListForm,
    page: Filter = "1",
) -> Response:
    return await list_page(request, principal, db, settings, form, page)


@dataclass
class BulkState:
    """The bulk action bar as the agent left it: what they chose and which rows, and why it
    was refused (a 422 re-render of the list)."""

    form: dict[str, str] = field(default_factory=dict)
    selected: frozenset[str] = frozenset()
    errors: dict[str, str] = field(default_factory=dict)


async def list_page(
    request: Request,
    principal: Principal,
    db: AsyncSession,
    settings: Settings,
    form: dict,
    page: str = "1",
    bulk: BulkState | None = None,
) -> Response:
    """The list for `form` (the cleaned query string), with the bulk bar in `bulk`'s state."""
    bulk = bulk or BulkState()
    zone = viewer_zone(principal, settings)
    filters, errors = read_filters(request, form, zone)
    results: Page[TicketRow] = (
        Page([], 0, 1, 25)
        if errors
        else await list_tickets(db, principal.user_id, filters, page_number(page))
    )
    url = list_url("/staff/tickets", form)
    choices = await ticket_choices(db)
    return render(
        request,
        "staff/tickets/index.html",
        {
            "principal": principal,
            "form": form,
            "errors": errors,
            "filtered": any(form[key] for key in FILTER_KEYS),
            "results": results,
            "sort": filters.sort,
            "descending": filters.descending,
            "url": url,
            "here": url(page=results.number if results.number > 1 else None),
            "csv_url": list_url("/staff/tickets/export.csv", form)(),
            "zone": zone,
            "categories": choices.categories,
            "groups": choices.groups,
            "agents": choices.agents,
            "statuses": ticket_labels.STATUS,
            "priorities": ticket_labels.PRIORITY,
            "queues": ticket_labels.QUEUE,
            "queue_name": translate(request, ticket_labels.QUEUE[filters.queue]),
            "bulk_request_id": new_request_id(),
            "bulk_form": bulk.form,
            "bulk_errors": bulk.errors,
            "selected": bulk.selected,
        },
        status_code=422 if errors or bulk.errors else 200,
        block="results",
    )


async def form_of_address(address: str) -> tuple[dict, str]:
    """The cleaned list form and page of a list address (`/staff/tickets?queue=all&page=2`),
    for pages that show the list again after a POST."""
    query = parse_qs(urlsplit(address).query)

    def one(key: str) -> str:
        return query.get(key, [""])[-1][:TEXT_LIMIT]

    form = await list_form(
        queue=one("queue") or DEFAULT_QUEUE, status=query.get("status"),
        priority=query.get("priority"), category=one("category"), group=one("group"),
        assignee=one("assignee"), tag=one("tag"), customer=one("customer"),
        customer_id=one("customer_id"), date_from=one("from"), date_to=one("to"), q=one("q"),
        sort=one("sort") or DEFAULT_SORT, dir=one("dir"),
    )  # fmt: skip
    return form, one("page") or "1"
