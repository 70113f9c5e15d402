"""Admin console, audit log (/admin/audit): filters (actor, action, target, dates in the reader's
time zone), newest first, pages, and the same rows as a CSV download (/admin/audit.csv)."""

from __future__ import annotations

import json
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
from api.settings import Settings
from db.models import AuditEvent
from db.queries.audit import (
    AuditFilters,
    distinct_actions,
    distinct_target_types,
    page_of_events,
    stream_events,
)
from db.queries.paging import Page, page_number
from web.csv_export import csv_download, csv_lines
from web.date_filters import check_day_order, day_bounds, read_day, viewer_zone
from web.forms import TEXT_LIMIT
from web.templating import render, translate

router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("settings.view"))]
Filter = Annotated[str, Query(max_length=TEXT_LIMIT)]  # long filters are cut, not refused


def _read_filters(
    request: Request, principal: Principal, settings: Settings, form: dict
) -> tuple[AuditFilters, dict]:
    errors: dict = {}
    zone = viewer_zone(principal, settings)
    first = read_day(form["from"], "from", errors, request)
    last = read_day(form["to"], "to", errors, request)
    check_day_order(first, last, errors, request)
    start, end = day_bounds(first, last, zone)
    filters = AuditFilters(
        actor=form["actor"],
        action=form["action"],
        target_type=form["target_type"],
        target_id=form["target_id"],
        start=start,
        end=end,
    )
    return filters, errors


def _form(actor: str, action: str, target_type: str, target_id: str, start: str, end: str):
    values = {
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "from": start,
        "to": end,
    }
    # PostgreSQL text cannot hold NUL: such a filter could match nothing anyway.
    return {key: value.replace("\x00", "").strip()[:320] for key, value in values.items()}


def _url(path: str, form: dict) -> Callable[..., str]:
    def url(**changes: object) -> str:
        merged = {**form, **{k: "" if v is None else str(v) for k, v in changes.items()}}
        query = urlencode({key: value for key, value in merged.items() if value})
        return path + (f"?{query}" if query else "")

    return url


@router.get("/audit")
async def audit_log(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    actor: Filter = "",
    action: Filter = "",
    target_type: Filter = "",
    target_id: Filter = "",
    date_from: Annotated[str, Query(alias="from", max_length=TEXT_LIMIT)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=TEXT_LIMIT)] = "",
    page: Filter = "1",
) -> Response:
    form = _form(actor, action, target_type, target_id, date_from, date_to)
    filters, errors = _read_filters(request, principal, settings, form)
    results: Page[AuditEvent] = (
        Page([], 0, 1, 25) if errors else await page_of_events(db, filters, page_number(page))
    )
    return render(
        request,
        "admin/audit/index.html",
        {
            "principal": principal,
            "form": form,
            "errors": errors,
            "filtered": any(form.values()),
            "results": results,
            "actions": await distinct_actions(db),
            "target_types": await distinct_target_types(db),
            "url": _url("/admin/audit", form),
            "csv_url": _url("/admin/audit.csv", form)(),
            "zone": viewer_zone(principal, settings),
        },
        status_code=422 if errors else 200,
        block="results",
    )


@router.get("/audit.csv")
async def audit_csv(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    actor: Filter = "",
    action: Filter = "",
    target_type: Filter = "",
    target_id: Filter = "",
    date_from: Annotated[str, Query(alias="from", max_length=TEXT_LIMIT)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=TEXT_LIMIT)] = "",
) -> Response:
    form = _form(actor, action, target_type, target_id, date_from, date_to)
    filters, errors = _read_filters(request, principal, settings, form)
    if errors:
        return await audit_log(
            request, principal, db, settings, actor, action, target_type, target_id,
            date_from, date_to,
        )  # fmt: skip
    async with db.begin():
        # Who took a copy of the trail, and of which part, is itself on the trail.
        audit.record(
            db, actor_of(request), "audit.exported", target_type="audit",
            after={key: value for key, value in form.items() if value},
        )  # fmt: skip
    zone = viewer_zone(principal, settings)
    header = [
        translate(request, "Time"),
        translate(request, "Actor"),
        translate(request, "Action"),
        translate(request, "Target type"),
        translate(request, "Target id"),
        translate(request, "IP address"),
        translate(request, "User agent"),
        translate(request, "Before"),
        translate(request, "After"),
    ]
    stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
    rows = _event_rows(request.app.state.sessionmaker, filters, zone)
    return csv_download(csv_lines(header, rows), f"audit-{stamp}.csv")


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


async def _event_rows(
    sessionmaker, filters: AuditFilters, zone: ZoneInfo
) -> AsyncIterator[tuple[object, ...]]:
    # Its own session: the request's one is closed before the body is streamed.
    async with sessionmaker() as db, db.begin():
        async for event in stream_events(db, filters):
            yield (
                event.occurred_at.astimezone(zone).isoformat(timespec="seconds"),
                event.actor_label,
                event.action,
                event.target_type,
                event.target_id,
                event.ip_address,
                event.user_agent,
                _json(event.before),
                _json(event.after),
            )
