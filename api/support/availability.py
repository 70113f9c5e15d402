"""Agent availability: a staff member marked away (holidays, sick leave) gets no automatic
assignment. Agents set it themselves from the back-office; admins set it for a group's members.
The form says which state it wants (not "toggle"), so a double submission changes nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.support.common import NotFound
from db.models import User, UserKind


async def set_away(db: AsyncSession, actor: Actor, user_id: uuid.UUID, away: bool) -> User:
    user = await db.scalar(
        select(User).where(User.id == user_id, User.kind == UserKind.STAFF).with_for_update()
    )
    if user is None:
        raise NotFound(user_id)
    if user.away != away:
        audit.record(
            db, actor, "user.availability_changed", target_type="user", target_id=user.id,
            before={"away": user.away}, after={"away": away},
        )  # fmt: skip
        user.away = away
    return user
