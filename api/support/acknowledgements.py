"""Each support group's acknowledgement of tickets opened by mail: sent or not, and the group's own
paragraph in it (opening hours, an emergency number). A group without settings acknowledges,
without a paragraph. Changes are audited; the acknowledgement itself is sent by the ticket's
notifications (activities/ticket_notifications.py) under the anti-loop rules of mail_answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import Actor
from api.support.common import raise_if, record_changes
from db.models import GroupMailSettings, SupportGroup
from i18n import N_

TEXT_LIMIT = 2000


@dataclass
class Acknowledgement:
    group: SupportGroup
    acknowledge: bool = True
    text: str = ""


async def acknowledgements(db: AsyncSession) -> list[Acknowledgement]:
    """Every group, by name, with its settings (the defaults when it has none)."""
    rows = await db.execute(
        select(SupportGroup, GroupMailSettings)
        .outerjoin(GroupMailSettings, GroupMailSettings.group_id == SupportGroup.id)
        .order_by(SupportGroup.name)
    )
    return [
        Acknowledgement(group, settings.acknowledge, settings.acknowledgement_text)
        if settings
        else Acknowledgement(group)
        for group, settings in rows.all()
    ]


async def save_acknowledgement(
    db: AsyncSession, actor: Actor, group_id: uuid.UUID, acknowledge: bool, text: str
) -> SupportGroup | None:
    """None when the group does not exist; `InputError` (field "text") for a text too long."""
    group = await db.get(SupportGroup, group_id)
    if group is None:
        return None
    text = text.replace("\x00", "").strip()
    if len(text) > TEXT_LIMIT:
        raise_if({"text": (N_("At most %(limit)s characters."), {"limit": TEXT_LIMIT})})
    current = await db.get(GroupMailSettings, group_id)
    before = (
        {"acknowledge": current.acknowledge, "text": current.acknowledgement_text}
        if current
        else {"acknowledge": True, "text": ""}
    )
    await db.execute(
        insert(GroupMailSettings)
        .values(group_id=group_id, acknowledge=acknowledge, acknowledgement_text=text)
        .on_conflict_do_update(
            index_elements=["group_id"],
            set_={"acknowledge": acknowledge, "acknowledgement_text": text},
        )
    )
    after = {"acknowledge": acknowledge, "text": text}
    record_changes(
        db, actor, "support_group.acknowledgement_updated", "support_group", group_id, before, after
    )
    return group
