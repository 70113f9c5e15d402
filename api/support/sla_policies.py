"""SLA policies and their escalation levels.

Policies are tried in `position` order; the first whose conditions (priorities, category,
customer segment; an empty condition matches anything) all hold applies. Targets are business
minutes on the policy's calendar; the form takes hours and minutes. Escalation levels are
numbered 1..n without gaps, each firing later after the breach than the one before.
A policy that tickets use is deactivated rather than deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.support.common import (
    NotFound,
    Refused,
    check_id,
    check_int,
    check_name,
    name_taken,
    raise_if,
    record_changes,
)
from db.models import (
    BusinessCalendar,
    SlaEscalationLevel,
    SlaPolicy,
    SupportGroup,
    Ticket,
    TicketCategory,
)
from db.models.tickets import PRIORITIES
from i18n import N_

TARGETS = ("first_response", "next_response", "resolution")
MAX_MINUTES = 60 * 24 * 365  # a year: beyond that a target is a typing slip
MAX_POSITION = 10_000  # either way: a negative position puts a record before the defaults
MAX_LEVELS = 10
SEGMENT_LIMIT = 40


@dataclass
class PolicyForm:
    name: str
    calendar_id: str
    position: str = "0"
    match_priorities: list[str] = field(default_factory=list)
    match_category_id: str = ""
    match_segment: str = ""
    # (hours, minutes) as typed, by target name; both empty: no such target.
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)
    warning_minutes: str = "30"
    active: bool = True


@dataclass
class LevelForm:
    after_minutes: str = "0"
    notify_lead: bool = True
    notify_admins: bool = False
    raise_priority: bool = False
    reassign_group_id: str = ""


def snapshot(policy: SlaPolicy) -> dict:
    return {
        "name": policy.name,
        "position": policy.position,
        "match_priorities": list(policy.match_priorities or []),
        "match_category_id": str(policy.match_category_id) if policy.match_category_id else None,
        "match_segment": policy.match_segment,
        "calendar_id": str(policy.calendar_id),
        "first_response_minutes": policy.first_response_minutes,
        "next_response_minutes": policy.next_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "warning_minutes": policy.warning_minutes,
        "active": policy.active,
    }


def level_snapshot(level: SlaEscalationLevel) -> dict:
    return {
        "level": level.level,
        "after_minutes": level.after_minutes,
        "notify_lead": level.notify_lead,
        "notify_admins": level.notify_admins,
        "raise_priority": level.raise_priority,
        "reassign_group_id": str(level.reassign_group_id) if level.reassign_group_id else None,
    }


def split_minutes(minutes: int | None) -> tuple[str, str]:
    """A target as the form shows it: ("8", "0") for 480; ("", "") for none."""
    if minutes is None:
        return "", ""
    return str(minutes // 60), str(minutes % 60)


async def find_policy(
    db: AsyncSession, policy_id: uuid.UUID, *, for_update: bool = False
) -> SlaPolicy:
    query = select(SlaPolicy).where(SlaPolicy.id == policy_id)
    policy = await db.scalar(query.with_for_update() if for_update else query)
    if policy is None:
        raise NotFound(policy_id)
    return policy


def _target(name: str, typed: tuple[str, str], errors: dict) -> int | None:
    raw_hours, raw_minutes = (part.strip() for part in typed)
    if not raw_hours and not raw_minutes:
        return None
    local: dict = {}
    hours = check_int(raw_hours or "0", name, local, minimum=0, maximum=MAX_MINUTES // 60)
    minutes = check_int(raw_minutes or "0", name, local, minimum=0, maximum=MAX_MINUTES)
    if local:
        errors.update(local)
        return None
    total = hours * 60 + minutes
    if total == 0:
        errors[name] = (N_("Enter at least one minute, or leave both boxes empty."), {})
    elif total > MAX_MINUTES:
        errors[name] = (N_("Enter at most %(hours)s hours."), {"hours": MAX_MINUTES // 60})
    return total


async def _check(db: AsyncSession, form: PolicyForm, current: SlaPolicy | None) -> dict:
    errors: dict = {}
    name = check_name(form.name, "name", errors)
    if "name" not in errors and await name_taken(
        db, SlaPolicy, name, current.id if current else None
    ):
        errors["name"] = (N_("Another policy already has this name."), {})
    position = check_int(
        form.position or "0", "position", errors, minimum=-MAX_POSITION, maximum=MAX_POSITION
    )
    if not set(form.match_priorities) <= set(PRIORITIES):
        errors["match_priorities"] = (N_("Choose priorities from the list."), {})
    priorities = [p for p in PRIORITIES if p in form.match_priorities]
    categories = set(await db.scalars(select(TicketCategory.id)))
    category_id = check_id(form.match_category_id, "match_category_id", errors, categories)
    segment = check_name(
        form.match_segment, "match_segment", errors, limit=SEGMENT_LIMIT, required=False
    )
    calendars = set(await db.scalars(select(BusinessCalendar.id)))
    calendar_id = check_id(form.calendar_id, "calendar_id", errors, calendars)
    if calendar_id is None and "calendar_id" not in errors:
        errors["calendar_id"] = (N_("Choose a calendar."), {})
    targets = {name: _target(name, form.targets.get(name, ("", "")), errors) for name in TARGETS}
    if all(minutes is None for minutes in targets.values()) and not set(TARGETS) & set(errors):
        errors["first_response"] = (N_("Set at least one target."), {})
    warning = check_int(
        form.warning_minutes, "warning_minutes", errors, minimum=0, maximum=MAX_MINUTES
    )
    shortest = min((m for m in targets.values() if m is not None), default=None)
    if warning is not None and shortest is not None and warning >= shortest:
        errors["warning_minutes"] = (
            N_("Warn less than %(minutes)s minutes before a deadline: the shortest target."),
            {"minutes": shortest},
        )
    raise_if(errors)
    return {
        "name": name,
        "position": position,
        "match_priorities": priorities,
        "match_category_id": category_id,
        "match_segment": segment or None,
        "calendar_id": calendar_id,
        "first_response_minutes": targets["first_response"],
        "next_response_minutes": targets["next_response"],
        "resolution_minutes": targets["resolution"],
        "warning_minutes": warning,
        "active": form.active,
    }


async def create_policy(db: AsyncSession, actor: Actor, form: PolicyForm) -> SlaPolicy:
    policy = SlaPolicy(**await _check(db, form, None))
    db.add(policy)
    await db.flush()
    audit.record(
        db, actor, "sla_policy.created", target_type="sla_policy", target_id=policy.id,
        after=snapshot(policy),
    )  # fmt: skip
    return policy


async def update_policy(
    db: AsyncSession, actor: Actor, policy_id: uuid.UUID, form: PolicyForm
) -> SlaPolicy:
    policy = await find_policy(db, policy_id, for_update=True)
    values = await _check(db, form, policy)
    before = snapshot(policy)
    for key, value in values.items():
        setattr(policy, key, value)
    record_changes(
        db, actor, "sla_policy.updated", "sla_policy", policy.id, before, snapshot(policy)
    )
    return policy


async def tickets_using(db: AsyncSession, policy_id: uuid.UUID) -> int:
    count = await db.scalar(select(func.count()).where(Ticket.sla_policy_id == policy_id))
    return int(count or 0)


async def delete_policy(db: AsyncSession, actor: Actor, policy_id: uuid.UUID) -> None:
    policy = await find_policy(db, policy_id, for_update=True)
    if await tickets_using(db, policy.id):
        raise Refused(
            N_("Tickets were measured by this policy, so it cannot be deleted: deactivate it.")
        )
    before = snapshot(policy)
    before["levels"] = [level_snapshot(level) for level in await levels_of(db, policy.id)]
    await db.delete(policy)
    await db.flush()
    audit.record(
        db, actor, "sla_policy.deleted", target_type="sla_policy", target_id=policy_id,
        before=before,
    )  # fmt: skip


# -- escalation levels ---------------------------------------------------------------------------


async def levels_of(db: AsyncSession, policy_id: uuid.UUID) -> list[SlaEscalationLevel]:
    return list(
        await db.scalars(
            select(SlaEscalationLevel)
            .where(SlaEscalationLevel.policy_id == policy_id)
            .order_by(SlaEscalationLevel.level)
        )
    )


async def _check_level(
    db: AsyncSession, form: LevelForm, before: SlaEscalationLevel | None,
    after: SlaEscalationLevel | None,
) -> dict:  # fmt: skip
    """`before`/`after`: the neighbouring levels, whose delays this one must fall between."""
    errors: dict = {}
    minutes = check_int(form.after_minutes, "after_minutes", errors, minimum=0, maximum=MAX_MINUTES)
    if minutes is not None and before is not None and minutes <= before.after_minutes:
        errors["after_minutes"] = (
            N_("Fire later than level %(level)s (%(minutes)s minutes)."),
            {"level": before.level, "minutes": before.after_minutes},
        )
    elif minutes is not None and after is not None and minutes >= after.after_minutes:
        errors["after_minutes"] = (
            N_("Fire earlier than level %(level)s (%(minutes)s minutes)."),
            {"level": after.level, "minutes": after.after_minutes},
        )
    groups = set(await db.scalars(select(SupportGroup.id)))
    group_id = check_id(form.reassign_group_id, "reassign_group_id", errors, groups)
    if not (form.notify_lead or form.notify_admins or form.raise_priority or group_id):
        errors["actions"] = (N_("Choose at least one thing for this level to do."), {})
    raise_if(errors)
    return {
        "after_minutes": minutes,
        "notify_lead": form.notify_lead,
        "notify_admins": form.notify_admins,
        "raise_priority": form.raise_priority,
        "reassign_group_id": group_id,
    }


async def add_level(
    db: AsyncSession, actor: Actor, policy_id: uuid.UUID, form: LevelForm
) -> SlaEscalationLevel:
    policy = await find_policy(db, policy_id, for_update=True)  # serialises level numbering
    levels = await levels_of(db, policy.id)
    if len(levels) >= MAX_LEVELS:
        raise Refused(N_("A policy has at most %(count)s escalation levels."), count=MAX_LEVELS)
    values = await _check_level(db, form, levels[-1] if levels else None, None)
    level = SlaEscalationLevel(policy_id=policy.id, level=len(levels) + 1, **values)
    db.add(level)
    await db.flush()
    audit.record(
        db, actor, "sla_policy.level_added", target_type="sla_policy", target_id=policy.id,
        after=level_snapshot(level),
    )  # fmt: skip
    return level


async def _level_and_neighbours(
    db: AsyncSession, policy_id: uuid.UUID, level_id: uuid.UUID
) -> tuple[list[SlaEscalationLevel], int]:
    await find_policy(db, policy_id, for_update=True)
    levels = await levels_of(db, policy_id)
    index = next((i for i, level in enumerate(levels) if level.id == level_id), None)
    if index is None:
        raise NotFound(level_id)
    return levels, index


async def update_level(
    db: AsyncSession, actor: Actor, policy_id: uuid.UUID, level_id: uuid.UUID, form: LevelForm
) -> SlaEscalationLevel:
    levels, index = await _level_and_neighbours(db, policy_id, level_id)
    level = levels[index]
    previous = levels[index - 1] if index else None
    following = levels[index + 1] if index + 1 < len(levels) else None
    values = await _check_level(db, form, previous, following)
    before = level_snapshot(level)
    for key, value in values.items():
        setattr(level, key, value)
    record_changes(
        db, actor, "sla_policy.level_updated", "sla_policy", policy_id,
        before | {"level": level.level}, level_snapshot(level),
    )  # fmt: skip
    return level


async def delete_level(
    db: AsyncSession, actor: Actor, policy_id: uuid.UUID, level_id: uuid.UUID
) -> None:
    levels, index = await _level_and_neighbours(db, policy_id, level_id)
    removed = levels[index]
    before = level_snapshot(removed)
    await db.delete(removed)
    await db.flush()
    # Keep 1..n without gaps; one at a time, in order, so (policy, level) stays unique.
    for level in levels[index + 1 :]:
        level.level -= 1
        await db.flush()
    audit.record(
        db, actor, "sla_policy.level_deleted", target_type="sla_policy", target_id=policy_id,
        before=before,
    )  # fmt: skip
