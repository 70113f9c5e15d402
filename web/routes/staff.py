"""Back-office (/staff): the overview every agent and reviewer lands on.

"Needs you now" cards, each a number and a link to the list that shows exactly those records,
shown only to staff allowed to open that list; then, for staff who see tickets, charts of how
the desk is doing (optionally for one support group). The ticket cards read the sidebar's
queue counts, loaded for this page anyway: one query, and card and sidebar always agree.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from api.access import STAFF, Principal, signed_in
from api.routes.deps import SessionDep, SettingsDep
from db.queries import overview
from db.queries.customers import kyc_queue_count
from db.queries.mail import held_mail_query
from db.queries.paging import total_of
from db.queries.tickets import group_choices
from web import overview_charts
from web.staff_sidebar import load_ticket_queue_counts
from web.templating import render

router = APIRouter(
    prefix="/staff", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

StaffMember = Annotated[Principal, Depends(signed_in(STAFF))]
FLOW_DAYS = 30
RESPONSE_WEEKS = 8


def _group_id(raw: str) -> uuid.UUID | None:
    """The chosen group, or None (every group) when the address carries no uuid."""
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None


async def _charts(
    request: Request, db: AsyncSession, zone: ZoneInfo, group_id: uuid.UUID | None
) -> list[overview_charts.Chart]:
    today = datetime.now(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    days = await overview.opened_and_resolved(
        db, today - timedelta(days=FLOW_DAYS - 1), today, zone, group_id
    )
    by_state = await overview.open_by_priority_and_sla(db, group_id)
    weeks = await overview.first_response_by_week(
        db, this_monday - timedelta(weeks=RESPONSE_WEEKS - 1), this_monday, zone, group_id
    )
    return [
        overview_charts.flow_chart(request, days),
        overview_charts.sla_chart(request, by_state),
        overview_charts.first_response_chart(request, weeks),
    ]


@router.get("", dependencies=[Depends(load_ticket_queue_counts)])
async def staff_home(
    request: Request,
    principal: StaffMember,
    db: SessionDep,
    settings: SettingsDep,
    group: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    context: dict = {"principal": principal, "charts": [], "group": ""}
    if principal.can("tickets.view"):
        group_id = _group_id(group)
        context.update(
            queue_counts=getattr(request.state, "ticket_queue_counts", {}),
            group_queues=await overview.unassigned_in_my_groups(db, principal.user_id),
            held_mail=await total_of(db, held_mail_query()),
            groups=await group_choices(db),
            group=str(group_id) if group_id else "",
            charts=await _charts(request, db, ZoneInfo(settings.time_zone), group_id),
        )
    if principal.can("customers.validate"):
        context["kyc_waiting"] = await kyc_queue_count(db)
    return render(request, "staff/home.html", context, block="charts")
