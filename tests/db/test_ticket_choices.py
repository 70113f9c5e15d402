"""The ticket list's and ticket page's menus, read in one statement: the category tree
depth-first, the active groups and the active agents, each in its own order."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from db.models import SupportGroup, TicketCategory
from db.queries.tickets import ticket_choices
from tests.support.ticket_rows import make_category, make_group, make_staff


async def test_the_menus_keep_their_own_order_and_leave_out_what_is_inactive(sessionmaker):
    tag = uuid.uuid4().hex[:6]
    parent = await make_category(sessionmaker, f"b {tag}")
    await make_category(sessionmaker, f"z {tag} child", parent=parent)
    first = await make_category(sessionmaker, f"a {tag}")
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(TicketCategory).where(TicketCategory.id == first.id).values(position=-1)
        )
    await make_group(sessionmaker, name=f"Beta {tag}")
    await make_group(sessionmaker, name=f"alpha {tag}")
    retired = await make_group(sessionmaker, name=f"Gamma {tag}")
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(SupportGroup).where(SupportGroup.id == retired.id).values(active=False)
        )
    await make_staff(sessionmaker, f"Zoé {tag}")
    await make_staff(sessionmaker, f"amina {tag}")

    async with sessionmaker() as db:
        choices = await ticket_choices(db)

    mine = [(c.name, c.depth) for c in choices.categories if tag in c.name]
    assert mine == [(f"a {tag}", 0), (f"b {tag}", 0), (f"z {tag} child", 1)]
    assert [c.name for c in choices.groups if tag in c.name] == [f"alpha {tag}", f"Beta {tag}"]
    assert [c.name for c in choices.agents if tag in c.name] == [f"amina {tag}", f"Zoé {tag}"]
