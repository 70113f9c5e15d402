"""Read queries for the helpdesk configuration pages: the lists of groups, calendars, SLA
policies and canned replies, with the counts those lists show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BusinessCalendar,
    CalendarHoliday,
    CannedReply,
    SlaEscalationLevel,
    SlaPolicy,
    SupportGroup,
    SupportGroupMember,
    TicketCategory,
    User,
)


@dataclass(frozen=True)
class GroupRow:
    group: SupportGroup
    members: int
    lead: User | None


@dataclass(frozen=True)
class CalendarRow:
    calendar: BusinessCalendar
    holidays: int
    policies: int


@dataclass(frozen=True)
class PolicyRow:
    policy: SlaPolicy
    calendar_name: str
    category_name: str | None
    levels: int


async def _counts(db: AsyncSession, column) -> dict[uuid.UUID, int]:
    return dict((await db.execute(select(column, func.count()).group_by(column))).all())


async def group_rows(db: AsyncSession) -> list[GroupRow]:
    """Every group, the default first then by name."""
    members = await _counts(db, SupportGroupMember.group_id)
    groups = list(
        await db.scalars(
            select(SupportGroup).order_by(
                SupportGroup.is_default.desc(), func.lower(SupportGroup.name)
            )
        )
    )
    lead_ids = {group.lead_id for group in groups if group.lead_id}
    leads = {user.id: user for user in await db.scalars(select(User).where(User.id.in_(lead_ids)))}
    return [GroupRow(g, members.get(g.id, 0), leads.get(g.lead_id)) for g in groups]


async def all_groups(db: AsyncSession) -> list[SupportGroup]:
    return list(await db.scalars(select(SupportGroup).order_by(func.lower(SupportGroup.name))))


async def calendar_rows(db: AsyncSession) -> list[CalendarRow]:
    holidays = await _counts(db, CalendarHoliday.calendar_id)
    policies = await _counts(db, SlaPolicy.calendar_id)
    calendars = await all_calendars(db)
    return [CalendarRow(c, holidays.get(c.id, 0), policies.get(c.id, 0)) for c in calendars]


async def all_calendars(db: AsyncSession) -> list[BusinessCalendar]:
    return list(
        await db.scalars(
            select(BusinessCalendar).order_by(
                BusinessCalendar.is_default.desc(), func.lower(BusinessCalendar.name)
            )
        )
    )


async def policy_rows(db: AsyncSession) -> list[PolicyRow]:
    """In the order they are tried."""
    levels = await _counts(db, SlaEscalationLevel.policy_id)
    rows = await db.execute(
        select(SlaPolicy, BusinessCalendar.name, TicketCategory.name)
        .join(BusinessCalendar, BusinessCalendar.id == SlaPolicy.calendar_id)
        .outerjoin(TicketCategory, TicketCategory.id == SlaPolicy.match_category_id)
        .order_by(SlaPolicy.position, func.lower(SlaPolicy.name))
    )
    return [
        PolicyRow(policy, calendar, category, levels.get(policy.id, 0))
        for policy, calendar, category in rows
    ]


async def canned_replies(db: AsyncSession) -> list[CannedReply]:
    """By category, then title."""
    return list(
        await db.scalars(
            select(CannedReply).order_by(
                func.lower(CannedReply.category), func.lower(CannedReply.title)
            )
        )
    )


async def support_counts(db: AsyncSession) -> dict[str, int]:
    """How many of each kind, for the Support section's overview."""

    async def count(model) -> int:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)

    return {
        "categories": await count(TicketCategory),
        "groups": await count(SupportGroup),
        "calendars": await count(BusinessCalendar),
        "policies": await count(SlaPolicy),
        "replies": await count(CannedReply),
    }
