"""Who else has a ticket open: the collision warning. The ticket page beats a heartbeat (htmx
polling, and the page load itself); a row not refreshed for a minute is stale and ignored.

Presence is what the screens show, not a record of the ticket: it is written here, directly,
rather than by the ticket's workflow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TicketPresence, User

Activity = Literal["viewing", "replying"]
ACTIVITIES: tuple[Activity, ...] = ("viewing", "replying")
STALE_AFTER = timedelta(minutes=1)
# How often the page beats: well inside STALE_AFTER, so one late beat does not hide anyone.
HEARTBEAT_SECONDS = 20


@dataclass(frozen=True)
class Presence:
    user_id: uuid.UUID
    name: str
    activity: Activity


async def heartbeat(
    db: AsyncSession, ticket_id: uuid.UUID, user_id: uuid.UUID, activity: Activity
) -> None:
    """Record that `user_id` is on the ticket. A "viewing" beat does not hide a fresh
    "replying" one: the page keeps beating while its reply box is being typed in.

    The agent's stale rows on other tickets go at the same time: an agent is on a handful of
    tickets at once, so the table stays that small instead of keeping one row for every
    ticket anyone ever opened."""
    now = func.now()
    await db.execute(
        delete(TicketPresence).where(
            TicketPresence.user_id == user_id,
            TicketPresence.ticket_id != ticket_id,
            TicketPresence.seen_at <= now - STALE_AFTER,
        )
    )
    statement = insert(TicketPresence).values(
        ticket_id=ticket_id, user_id=user_id, activity=activity, seen_at=now
    )
    current = TicketPresence.__table__.c
    still_replying = (
        (statement.excluded.activity == "viewing")
        & (current.activity == "replying")
        & (current.seen_at > now - STALE_AFTER)
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[current.ticket_id, current.user_id],
            set_={"activity": statement.excluded.activity, "seen_at": now},
            where=~still_replying,
        )
    )


async def stop_replying(db: AsyncSession, ticket_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """After the reply went out: the agent is back to viewing."""
    await db.execute(
        delete(TicketPresence).where(
            TicketPresence.ticket_id == ticket_id, TicketPresence.user_id == user_id
        )
    )
    await heartbeat(db, ticket_id, user_id, "viewing")


async def others_present(
    db: AsyncSession, ticket_id: uuid.UUID, viewer_id: uuid.UUID
) -> list[Presence]:
    """Everyone else seen on the ticket within the last minute, those replying first."""
    rows = await db.execute(
        select(TicketPresence.user_id, User.full_name, TicketPresence.activity)
        .join(User, User.id == TicketPresence.user_id)
        .where(
            TicketPresence.ticket_id == ticket_id,
            TicketPresence.user_id != viewer_id,
            TicketPresence.seen_at > func.now() - STALE_AFTER,
        )
        .order_by(TicketPresence.activity, User.full_name)  # "replying" before "viewing"
    )
    return [Presence(row.user_id, row.full_name, row.activity) for row in rows]
