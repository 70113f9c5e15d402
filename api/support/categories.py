"""Ticket categories: a tree (a category may have a parent), each optionally routing its tickets
to a support group. A category that tickets, sub-categories or SLA policies use is deactivated,
not deleted: tickets keep their history and policies keep their conditions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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
from db.models import SlaPolicy, SupportGroup, Ticket, TicketCategory
from i18n import N_

MAX_POSITION = 10_000  # either way: a negative position puts a record before the defaults


@dataclass
class CategoryForm:
    name: str
    parent_id: str = ""
    group_id: str = ""
    position: str = "0"
    active: bool = True


def snapshot(category: TicketCategory) -> dict:
    return {
        "name": category.name,
        "parent_id": str(category.parent_id) if category.parent_id else None,
        "group_id": str(category.group_id) if category.group_id else None,
        "position": category.position,
        "active": category.active,
    }


async def find_category(
    db: AsyncSession, category_id: uuid.UUID, *, for_update: bool = False
) -> TicketCategory:
    query = select(TicketCategory).where(TicketCategory.id == category_id)
    category = await db.scalar(query.with_for_update() if for_update else query)
    if category is None:
        raise NotFound(category_id)
    return category


async def _parents(db: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await db.execute(select(TicketCategory.id, TicketCategory.parent_id))
    return {row.id: row.parent_id for row in rows}


async def _check(db: AsyncSession, form: CategoryForm, current: TicketCategory | None) -> dict:
    errors: dict = {}
    parents = await _parents(db)
    parent_id = check_id(form.parent_id, "parent_id", errors, set(parents))
    if current is not None and parent_id is not None:
        # Walking up from the chosen parent must never meet the category itself.
        ancestor: uuid.UUID | None = parent_id
        while ancestor is not None:
            if ancestor == current.id:
                errors["parent_id"] = (
                    N_("A category cannot be placed under itself or one of its sub-categories."),
                    {},
                )
                break
            ancestor = parents.get(ancestor)
    groups = set(await db.scalars(select(SupportGroup.id)))
    group_id = check_id(form.group_id, "group_id", errors, groups)
    name = check_name(form.name, "name", errors)
    if "name" not in errors and await name_taken(
        db, TicketCategory, name, current.id if current else None, parent_id=parent_id
    ):
        errors["name"] = (N_("Another category at this place already has this name."), {})
    position = check_int(
        form.position or "0", "position", errors, minimum=-MAX_POSITION, maximum=MAX_POSITION
    )
    raise_if(errors)
    return {
        "name": name,
        "parent_id": parent_id,
        "group_id": group_id,
        "position": position,
        "active": form.active,
    }


async def create_category(db: AsyncSession, actor: Actor, form: CategoryForm) -> TicketCategory:
    values = await _check(db, form, None)
    category = TicketCategory(**values)
    db.add(category)
    await db.flush()
    audit.record(
        db, actor, "ticket_category.created", target_type="ticket_category",
        target_id=category.id, after=snapshot(category),
    )  # fmt: skip
    return category


async def update_category(
    db: AsyncSession, actor: Actor, category_id: uuid.UUID, form: CategoryForm
) -> TicketCategory:
    category = await find_category(db, category_id, for_update=True)
    values = await _check(db, form, category)
    before = snapshot(category)
    for key, value in values.items():
        setattr(category, key, value)
    record_changes(
        db, actor, "ticket_category.updated", "ticket_category", category.id,
        before, snapshot(category),
    )  # fmt: skip
    return category


async def usage(db: AsyncSession, category_id: uuid.UUID) -> dict[str, int]:
    """What still refers to the category: tickets, sub-categories, SLA policies."""

    async def count(model, column) -> int:
        return int(await db.scalar(select(func.count()).where(column == category_id)) or 0)

    return {
        "tickets": await count(Ticket, Ticket.category_id),
        "children": await count(TicketCategory, TicketCategory.parent_id),
        "policies": await count(SlaPolicy, SlaPolicy.match_category_id),
    }


async def delete_category(db: AsyncSession, actor: Actor, category_id: uuid.UUID) -> None:
    category = await find_category(db, category_id, for_update=True)
    used = await usage(db, category.id)
    if used["children"]:
        raise Refused(N_("This category has sub-categories: move or delete them first."))
    if used["tickets"] or used["policies"]:
        # Deleting would erase the category of past tickets (and the SLA policies that match it,
        # which the database deletes with it): deactivating keeps both.
        raise Refused(
            N_(
                "Tickets or SLA policies use this category, so it cannot be deleted: "
                "deactivate it instead."
            )
        )
    before = snapshot(category)
    await db.delete(category)
    await db.flush()
    audit.record(
        db, actor, "ticket_category.deleted", target_type="ticket_category",
        target_id=category_id, before=before,
    )  # fmt: skip


def as_tree(categories: list[TicketCategory]) -> list[tuple[TicketCategory, int]]:
    """(category, depth) in reading order: each parent followed by its children, siblings by
    position then name."""
    children: dict[uuid.UUID | None, list[TicketCategory]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.position, c.name.lower()))
    ordered: list[tuple[TicketCategory, int]] = []

    def walk(parent: uuid.UUID | None, depth: int) -> None:
        for category in children.get(parent, []):
            ordered.append((category, depth))
            walk(category.id, depth + 1)

    walk(None, 0)
    return ordered


async def category_tree(db: AsyncSession) -> list[tuple[TicketCategory, int]]:
    return as_tree(list(await db.scalars(select(TicketCategory))))
