"""The ticket list as a CSV download (/staff/tickets/export.csv): the same filters, queue and
order as the page, every matching row streamed from the database, the export on the audit
trail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api import audit
from api.access import STAFF, signed_in
from api.routes.deps import SessionDep, SettingsDep, actor_of
from db.queries.tickets import TicketFilters, stream_tickets
from web import ticket_labels
from web.csv_export import csv_download, csv_lines
from web.date_filters import viewer_zone
from web.routes.staff_tickets import ListForm, Viewer, list_page, read_filters
from web.templating import translate

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)


@router.get("/export.csv")
async def ticket_export(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    form: ListForm,
) -> Response:
    zone = viewer_zone(principal, settings)
    filters, errors = read_filters(request, form, zone)
    if errors:
        return await list_page(request, principal, db, settings, form)
    async with db.begin():
        # Who took a copy of the desk, and of which part, is on the audit trail.
        audit.record(
            db, actor_of(request), "tickets.export", target_type="ticket",
            after={key: value for key, value in form.items() if value},
        )  # fmt: skip
    stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
    rows = _export_rows(request, principal.user_id, filters, zone)
    return csv_download(csv_lines(_export_header(request), rows), f"tickets-{stamp}.csv")


def _export_header(request: Request) -> list[str]:
    return [
        translate(request, "Number"),
        translate(request, "Subject"),
        translate(request, "Customer"),
        translate(request, "Requester"),
        translate(request, "Status"),
        translate(request, "Priority"),
        translate(request, "Category"),
        translate(request, "Group"),
        translate(request, "Assignee"),
        translate(request, "Tags"),
        translate(request, "SLA"),
        translate(request, "First response due"),
        translate(request, "Resolution due"),
        translate(request, "Created"),
        translate(request, "Updated"),
    ]


async def _export_rows(
    request: Request, viewer_id: uuid.UUID, filters: TicketFilters, zone: ZoneInfo
) -> AsyncIterator[tuple[object, ...]]:
    def word(table: dict[str, str], value: str) -> str:
        return translate(request, table[value]) if value in table else value

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).isoformat(timespec="minutes") if moment else ""

    # Its own session: the request's one is closed before the body is streamed.
    async with request.app.state.sessionmaker() as db, db.begin():
        async for ticket in stream_tickets(db, viewer_id, filters):
            yield (
                ticket.number,
                ticket.subject,
                ticket.customer_name,
                ticket.requester_name,
                word(ticket_labels.STATUS, ticket.status),
                word(ticket_labels.PRIORITY, ticket.priority),
                ticket.category_name,
                ticket.group_name,
                ticket.assignee_name,
                ", ".join(ticket.tags),
                word(ticket_labels.SLA, ticket.sla_state),
                when(ticket.first_response_due),
                when(ticket.resolution_due),
                when(ticket.created_at),
                when(ticket.updated_at),
            )
