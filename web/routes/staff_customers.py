"""Back-office customer list (/staff/customers): search by name, identifier or email, filters
(status, segment, KYC state, creation dates), sorts and pages, and the same rows as a CSV
download (/staff/customers/export.csv, audited). Both read PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from api import audit
from api.access import STAFF, Principal, require, signed_in
from api.routes.deps import SessionDep, SettingsDep, actor_of
from db.models import CustomerStatus
from db.queries.customers import (
    DEFAULT_SORT,
    DESCENDING_FIRST,
    SORTS,
    CustomerFilters,
    list_customers,
    segments,
    stream_customers,
)
from db.queries.paging import Page, page_number
from i18n import N_
from web import customer_labels
from web.csv_export import csv_download, csv_lines
from web.date_filters import check_day_order, day_bounds, read_day, viewer_zone
from web.forms import TEXT_LIMIT
from web.templating import render, translate

router = APIRouter(
    prefix="/staff/customers", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("customers.view", area=STAFF))]
Filter = Annotated[str, Query(max_length=TEXT_LIMIT)]  # long filters are cut, not refused
FILTER_KEYS = ("q", "status", "segment", "kyc", "from", "to")


def _clean(value: str, limit: int = 200) -> str:
    return value.replace("\x00", "").strip()[:limit]


async def list_form(
    q: Filter = "",
    status: Filter = "",
    segment: Filter = "",
    kyc: Filter = "",
    date_from: Annotated[str, Query(alias="from", max_length=TEXT_LIMIT)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=TEXT_LIMIT)] = "",
    sort: Filter = DEFAULT_SORT,
    dir: Filter = "",
) -> dict:
    """The list's query string, cleaned: what the form shows back and the links carry on."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    natural_dir = "desc" if sort in DESCENDING_FIRST else "asc"
    return {
        "q": _clean(q),
        "status": status if status in customer_labels.STATUS else "",
        "segment": _clean(segment, 40),
        "kyc": kyc if kyc in customer_labels.KYC else "",
        "from": _clean(date_from, 20),
        "to": _clean(date_to, 20),
        "sort": sort if sort != DEFAULT_SORT else "",
        "dir": dir if dir in ("asc", "desc") and dir != natural_dir else "",
    }


ListForm = Annotated[dict, Depends(list_form)]


def _read_filters(request: Request, form: dict, zone: ZoneInfo) -> tuple[CustomerFilters, dict]:
    errors: dict[str, str] = {}
    first = read_day(form["from"], "from", errors, request)
    last = read_day(form["to"], "to", errors, request)
    check_day_order(first, last, errors, request)
    start, end = day_bounds(first, last, zone)
    sort = form["sort"] or DEFAULT_SORT
    natural_descending = sort in DESCENDING_FIRST
    filters = CustomerFilters(
        search=form["q"],
        status=CustomerStatus(form["status"]) if form["status"] else None,
        segment=form["segment"],
        kyc_state=form["kyc"],
        created_from=start,
        created_to=end,
        sort=sort,
        descending=not natural_descending if form["dir"] else natural_descending,
    )
    return filters, errors


def _url(path: str, form: dict) -> Callable[..., str]:
    """url(page=2) → this list's address with that change; None or "" drops a parameter."""

    def url(**changes: object) -> str:
        merged = {**form, **{key: "" if v is None else v for key, v in changes.items()}}
        query = urlencode({key: value for key, value in merged.items() if value})
        return path + (f"?{query}" if query else "")

    return url


@router.get("")
async def customer_list(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    form: ListForm,
    page: Filter = "1",
) -> Response:
    filters, errors = _read_filters(request, form, viewer_zone(principal, settings))
    results = Page([], 0, 1, 25) if errors else await list_customers(db, filters, page_number(page))
    return render(
        request,
        "staff/customers/index.html",
        {
            "principal": principal,
            "form": form,
            "errors": errors,
            "filtered": any(form[key] for key in FILTER_KEYS),
            "results": results,
            "sort": filters.sort,
            "descending": filters.descending,
            "url": _url("/staff/customers", form),
            "csv_url": _url("/staff/customers/export.csv", form)(),
            "segments": await segments(db),
        },
        status_code=422 if errors else 200,
        block="results",
    )


@router.get("/export.csv")
async def customer_export(
    request: Request, principal: Viewer, db: SessionDep, settings: SettingsDep, form: ListForm
) -> Response:
    zone = viewer_zone(principal, settings)
    filters, errors = _read_filters(request, form, zone)
    if errors:
        return await customer_list(request, principal, db, settings, form)
    async with db.begin():
        # Who took a copy of the customer base, and which part, is on the audit trail.
        audit.record(
            db, actor_of(request), "customers.export", target_type="customer",
            after={key: value for key, value in form.items() if value},
        )  # fmt: skip
    stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
    rows = _export_rows(request, filters, zone)
    return csv_download(csv_lines(_export_header(request), rows), f"customers-{stamp}.csv")


def _export_header(request: Request) -> list[str]:
    words = (N_("Name"), N_("Kind"), N_("Status"), N_("Segment"), N_("KYC"), N_("NIF"),
             N_("RC"), N_("National identification number"), N_("Contact email"), N_("Users"),
             N_("Created"))  # fmt: skip
    return [translate(request, word) for word in words]


async def _export_rows(
    request: Request, filters: CustomerFilters, zone: ZoneInfo
) -> AsyncIterator[tuple[object, ...]]:
    def word(table: dict[str, str], value: str) -> str:
        return translate(request, table[value]) if value in table else value

    # Its own session: the request's one is closed before the body is streamed.
    async with request.app.state.sessionmaker() as db, db.begin():
        async for row in stream_customers(db, filters):
            yield (
                row.name,
                word(customer_labels.KIND, row.kind.value),
                word(customer_labels.STATUS, row.status.value),
                row.segment or "",
                word(customer_labels.KYC, row.kyc_state),
                row.nif or "",
                row.rc or "",
                row.national_id or "",
                row.email,
                row.users,
                row.created_at.astimezone(zone).isoformat(timespec="minutes"),
            )
