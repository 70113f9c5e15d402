"""Read queries for the back-office overview (/staff): the unassigned tickets of each of the
viewer's groups, and the figures behind its charts (tickets opened and resolved per day, open
tickets by priority and SLA state, the median first response per week).

Each is one aggregate query over the tickets projection, never a loop over rows, and each must
stay an index scan at a million tickets:

- The time series are bounded by `updated_at`, which ix_tickets_updated_at answers. The bound
  loses nothing: the projection's `updated_at` is the time of the change that wrote the row last,
  and `created_at`, `resolved_at` and `first_responded_at` were each set by a change of their
  own, so none of them is later than `updated_at`. The range read is the tickets that moved in
  the period, not the whole history.
- Open tickets are named by their statuses (`status IN (...)`), which ix_tickets_status answers;
  the open share of a desk is small next to its closed history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, cast, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SupportGroup, SupportGroupMember, Ticket
from db.models.tickets import STATUSES
from db.queries.tickets import CLOSED_STATUSES, queue_condition

OPEN_STATUSES = tuple(status for status in STATUSES if status not in CLOSED_STATUSES)
# Beyond this many, a group's unassigned count says "10 000+": counting stops there.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class QueueCount:
    count: int  # at most the cap
    more: bool  # True when there are more than `count`: shown as "10 000+"


@dataclass(frozen=True)
class GroupQueue:
    group_id: uuid.UUID
    name: str
    unassigned: QueueCount


@dataclass(frozen=True)
class DayFlow:
    day: date
    opened: int
    resolved: int


@dataclass(frozen=True)
class WeekResponse:
    week: date  # its Monday
    median_seconds: float | None  # None: no first response that week
    responses: int


def _in_group(group_id: uuid.UUID | None) -> ColumnElement[bool]:
    return true() if group_id is None else Ticket.group_id == group_id


def _local_day(column, zone: ZoneInfo):
    # The day where the desk works: a ticket opened at 23:30 UTC belongs to the next Algiers day.
    return cast(func.timezone(zone.key, column), Date)


def period_start(first_day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(first_day, time.min, zone)


async def unassigned_in_my_groups(
    db: AsyncSession, viewer_id: uuid.UUID, *, cap: int = COUNT_CAP
) -> list[GroupQueue]:
    """Each active group the viewer belongs to, by name, with its open unassigned tickets:
    the list `/staff/tickets?queue=unassigned&group=<id>` shows. Counted up to `cap`, in one
    round trip."""
    # The inner select sits in a FROM clause, where SQLAlchemy does not correlate by itself.
    limited = (
        select(literal(1))
        .select_from(Ticket)
        .where(queue_condition("unassigned", viewer_id), Ticket.group_id == SupportGroup.id)
        .correlate(SupportGroup)
        .limit(cap + 1)
        .subquery()
    )
    count = select(func.count()).select_from(limited).scalar_subquery()
    rows = await db.execute(
        select(SupportGroup.id, SupportGroup.name, count.label("count"))
        .join(SupportGroupMember, SupportGroupMember.group_id == SupportGroup.id)
        .where(SupportGroupMember.user_id == viewer_id, SupportGroup.active.is_(True))
        .order_by(func.lower(SupportGroup.name), SupportGroup.id)
    )
    return [
        GroupQueue(row.id, row.name, QueueCount(min(row.count, cap), row.count > cap))
        for row in rows
    ]


async def opened_and_resolved(
    db: AsyncSession, first_day: date, last_day: date, zone: ZoneInfo,
    group_id: uuid.UUID | None = None,
) -> list[DayFlow]:  # fmt: skip
    """Tickets opened and tickets resolved on each day from `first_day` to `last_day` (days in
    `zone`), every day listed, zeros included. A ticket reopened since counts as resolved on
    the day it was resolved again, or not at all while it is open."""
    start = period_start(first_day, zone)
    end = period_start(last_day + timedelta(days=1), zone)

    def per_day(column, name: str):
        day = _local_day(column, zone).label("day")
        return (
            select(day, func.count().label(name))
            .where(Ticket.updated_at >= start, column >= start, column < end, _in_group(group_id))
            .group_by(day)
            .subquery(name)
        )

    opened = per_day(Ticket.created_at, "opened")
    resolved = per_day(Ticket.resolved_at, "resolved")
    days = select(
        cast(func.generate_series(first_day, last_day, timedelta(days=1)), Date).label("day")
    ).subquery("days")
    rows = await db.execute(
        select(
            days.c.day,
            func.coalesce(opened.c.opened, 0).label("opened"),
            func.coalesce(resolved.c.resolved, 0).label("resolved"),
        )
        .outerjoin(opened, opened.c.day == days.c.day)
        .outerjoin(resolved, resolved.c.day == days.c.day)
        .order_by(days.c.day)
    )
    return [DayFlow(row.day, row.opened, row.resolved) for row in rows]


async def open_by_priority_and_sla(
    db: AsyncSession, group_id: uuid.UUID | None = None
) -> dict[tuple[str, str], int]:
    """Open tickets counted by (priority, SLA state); pairs with no ticket are absent."""
    rows = await db.execute(
        select(Ticket.priority, Ticket.sla_state, func.count().label("count"))
        .where(Ticket.status.in_(OPEN_STATUSES), _in_group(group_id))
        .group_by(Ticket.priority, Ticket.sla_state)
    )
    return {(row.priority, row.sla_state): row.count for row in rows}


async def first_response_by_week(
    db: AsyncSession, first_week: date, last_week: date, zone: ZoneInfo,
    group_id: uuid.UUID | None = None,
) -> list[WeekResponse]:  # fmt: skip
    """The median time from opening to the first agent reply (wall clock), for the first
    replies given in each week (Monday to Sunday in `zone`) from `first_week` to `last_week`
    (both Mondays), every week listed. Counted by the week of the reply: a week's figure is
    settled once the week is over, whatever happens to tickets opened in it later."""
    start = period_start(first_week, zone)
    end = period_start(last_week + timedelta(days=7), zone)
    week = cast(func.date_trunc("week", func.timezone(zone.key, Ticket.first_responded_at)), Date)
    waited = func.extract("epoch", Ticket.first_responded_at - Ticket.created_at)
    replies = (
        select(
            week.label("week"),
            func.percentile_cont(0.5).within_group(waited).label("median"),
            func.count().label("responses"),
        )
        .where(
            Ticket.updated_at >= start,
            Ticket.first_responded_at >= start,
            Ticket.first_responded_at < end,
            _in_group(group_id),
        )
        .group_by(week)
        .subquery("replies")
    )
    weeks = select(
        cast(func.generate_series(first_week, last_week, timedelta(days=7)), Date).label("week")
    ).subquery("weeks")
    rows = await db.execute(
        select(weeks.c.week, replies.c.median, func.coalesce(replies.c.responses, 0))
        .outerjoin(replies, replies.c.week == weeks.c.week)
        .order_by(weeks.c.week)
    )
    return [
        WeekResponse(week, None if median is None else float(median), responses)
        for week, median, responses in rows
    ]
