"""Support groups: the teams that work tickets, their members and lead, how new tickets are
assigned among the members, and the group's automation periods.

Exactly one active group is the default (tickets no rule routes go there): making a group the
default takes the flag from the previous one, and the default group can neither lose the flag
by itself nor be deactivated. A group that tickets, categories or escalation levels use is
deactivated rather than deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.support.common import (
    NotFound,
    Refused,
    check_id,
    check_int,
    check_name,
    clear_other_defaults,
    lock_defaults,
    name_taken,
    raise_if,
    record_changes,
)
from db.models import (
    SlaEscalationLevel,
    SupportGroup,
    SupportGroupMember,
    Ticket,
    TicketCategory,
    User,
    UserKind,
    UserStatus,
)
from db.models.tickets import ASSIGNMENT_MODES
from i18n import N_

MAX_DAYS = 365
# Who can be a member or the lead: staff who can (or soon will) sign in.
ASSIGNABLE = (UserStatus.ACTIVE, UserStatus.INVITED)


@dataclass
class GroupForm:
    name: str
    lead_id: str = ""
    assignment_mode: str = "round_robin"
    close_resolved_after_days: str = "7"
    remind_waiting_after_days: str = "3"
    close_waiting_after_days: str = "10"
    reopen_window_days: str = "14"
    is_default: bool = False
    active: bool = True


def snapshot(group: SupportGroup) -> dict:
    return {
        "name": group.name,
        "lead_id": str(group.lead_id) if group.lead_id else None,
        "assignment_mode": group.assignment_mode,
        "close_resolved_after_days": group.close_resolved_after_days,
        "remind_waiting_after_days": group.remind_waiting_after_days,
        "close_waiting_after_days": group.close_waiting_after_days,
        "reopen_window_days": group.reopen_window_days,
        "is_default": group.is_default,
        "active": group.active,
    }


async def find_group(
    db: AsyncSession, group_id: uuid.UUID, *, for_update: bool = False
) -> SupportGroup:
    query = select(SupportGroup).where(SupportGroup.id == group_id)
    group = await db.scalar(query.with_for_update() if for_update else query)
    if group is None:
        raise NotFound(group_id)
    return group


async def staff_choices(db: AsyncSession) -> list[User]:
    """Staff who may lead or join a group, by name."""
    return list(
        await db.scalars(
            select(User)
            .where(User.kind == UserKind.STAFF, User.status.in_(ASSIGNABLE))
            .order_by(func.lower(User.full_name), User.email)
        )
    )


def _days(form: GroupForm, errors: dict) -> dict:
    days = {
        key: check_int(getattr(form, key), key, errors, minimum=minimum, maximum=MAX_DAYS)
        for key, minimum in (
            ("close_resolved_after_days", 1),
            ("remind_waiting_after_days", 1),
            ("close_waiting_after_days", 1),
            ("reopen_window_days", 0),
        )
    }
    remind, close = days["remind_waiting_after_days"], days["close_waiting_after_days"]
    waiting = "close_waiting_after_days" not in errors and None not in (remind, close)
    if waiting and close <= remind:
        errors["close_waiting_after_days"] = (
            N_("Close after more days than the reminder (%(days)s)."),
            {"days": remind},
        )
    return days


async def _check(db: AsyncSession, form: GroupForm, current: SupportGroup | None) -> dict:
    errors: dict = {}
    name = check_name(form.name, "name", errors)
    if "name" not in errors and await name_taken(
        db, SupportGroup, name, current.id if current else None
    ):
        errors["name"] = (N_("Another group already has this name."), {})
    leads = {user.id for user in await staff_choices(db)}
    if current is not None and current.lead_id:
        leads.add(current.lead_id)  # a lead who left keeps the post until someone replaces them
    lead_id = check_id(form.lead_id, "lead_id", errors, leads)
    if form.assignment_mode not in ASSIGNMENT_MODES:
        errors["assignment_mode"] = (N_("Choose from the list."), {})
    days = _days(form, errors)
    if current is not None and current.is_default and not form.is_default:
        errors["is_default"] = (
            N_("One group is always the default: make another group the default instead."),
            {},
        )
    if form.is_default and not form.active:
        errors["active"] = (N_("The default group stays active."), {})
    raise_if(errors)
    return {
        "name": name,
        "lead_id": lead_id,
        "assignment_mode": form.assignment_mode,
        **days,
        "is_default": form.is_default,
        "active": form.active,
    }


async def create_group(db: AsyncSession, actor: Actor, form: GroupForm) -> SupportGroup:
    await lock_defaults(db, "support_groups")
    values = await _check(db, form, None)
    if not await db.scalar(select(SupportGroup.id).where(SupportGroup.is_default).limit(1)):
        values["is_default"] = values["active"]  # the first active group becomes the default
    group = SupportGroup(**values)
    db.add(group)
    await db.flush()
    if group.is_default:
        await clear_other_defaults(db, SupportGroup, group.id)
    audit.record(
        db, actor, "support_group.created", target_type="support_group", target_id=group.id,
        after=snapshot(group),
    )  # fmt: skip
    return group


async def update_group(
    db: AsyncSession, actor: Actor, group_id: uuid.UUID, form: GroupForm
) -> SupportGroup:
    await lock_defaults(db, "support_groups")
    group = await find_group(db, group_id, for_update=True)
    values = await _check(db, form, group)
    before = snapshot(group)
    for key, value in values.items():
        setattr(group, key, value)
    if group.is_default and not before["is_default"]:
        await clear_other_defaults(db, SupportGroup, group.id)
    record_changes(
        db, actor, "support_group.updated", "support_group", group.id, before, snapshot(group)
    )
    return group


async def usage(db: AsyncSession, group_id: uuid.UUID) -> dict[str, int]:
    async def count(column) -> int:
        return int(await db.scalar(select(func.count()).where(column == group_id)) or 0)

    return {
        "tickets": await count(Ticket.group_id),
        "categories": await count(TicketCategory.group_id),
        "escalations": await count(SlaEscalationLevel.reassign_group_id),
    }


async def delete_group(db: AsyncSession, actor: Actor, group_id: uuid.UUID) -> None:
    group = await find_group(db, group_id, for_update=True)
    if group.is_default:
        raise Refused(N_("The default group cannot be deleted: make another group the default."))
    if any((await usage(db, group.id)).values()):
        # Tickets would lose their group and routing rules their target without anyone noticing.
        raise Refused(
            N_(
                "Tickets, categories or escalation rules use this group, so it cannot be "
                "deleted: deactivate it instead."
            )
        )
    before = snapshot(group)
    await db.delete(group)
    await db.flush()
    audit.record(
        db, actor, "support_group.deleted", target_type="support_group", target_id=group_id,
        before=before,
    )  # fmt: skip


# -- members -------------------------------------------------------------------------------------


async def members(db: AsyncSession, group_id: uuid.UUID) -> list[User]:
    return list(
        await db.scalars(
            select(User)
            .join(SupportGroupMember, SupportGroupMember.user_id == User.id)
            .where(SupportGroupMember.group_id == group_id)
            .order_by(func.lower(User.full_name), User.email)
        )
    )


async def is_member(db: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await db.scalar(
        select(SupportGroupMember.user_id).where(
            SupportGroupMember.group_id == group_id, SupportGroupMember.user_id == user_id
        )
    )
    return found is not None


async def add_member(db: AsyncSession, actor: Actor, group_id: uuid.UUID, raw_user: str) -> User:
    group = await find_group(db, group_id)
    errors: dict = {}
    candidates = {user.id: user for user in await staff_choices(db)}
    user_id = check_id(raw_user, "user_id", errors, set(candidates))
    if user_id is None and not errors:
        errors["user_id"] = (N_("Choose a staff member."), {})
    raise_if(errors)
    added = await db.execute(
        insert(SupportGroupMember)
        .values(group_id=group.id, user_id=user_id)
        .on_conflict_do_nothing()
        .returning(SupportGroupMember.user_id)
    )
    user = candidates[user_id]
    if added.first() is not None:  # adding someone already there changes nothing
        audit.record(
            db, actor, "support_group.member_added", target_type="support_group",
            target_id=group.id, after={"user_id": str(user.id), "email": user.email},
        )  # fmt: skip
    return user


async def remove_member(
    db: AsyncSession, actor: Actor, group_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    group = await find_group(db, group_id)
    removed = await db.execute(
        delete(SupportGroupMember)
        .where(SupportGroupMember.group_id == group.id, SupportGroupMember.user_id == user_id)
        .returning(SupportGroupMember.user_id)
    )
    if removed.first() is None:
        raise NotFound(user_id)
    user = await db.get(User, user_id)
    audit.record(
        db, actor, "support_group.member_removed", target_type="support_group",
        target_id=group.id, before={"user_id": str(user_id), "email": user.email if user else ""},
    )  # fmt: skip
