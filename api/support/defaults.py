"""The helpdesk configuration every installation starts with, in French (the provider's
working language): a calendar of Algerian working hours and holidays, a default group, a few
categories, one SLA policy per priority with two escalation levels, three canned replies.

Created once, at bootstrap after the migrations: when a default calendar exists the installation
has its configuration (from here or from an admin) and nothing is touched.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import SYSTEM
from api.support.calendars import insert_public_holidays
from api.support.common import lock_defaults
from db.models import (
    BusinessCalendar,
    CannedReply,
    SlaEscalationLevel,
    SlaPolicy,
    SupportGroup,
    TicketCategory,
)
from workflows.business_calendar import ALGERIAN_WEEK

CALENDAR_NAME = "Algérie (dim.–jeu. 08:00–16:30)"
GROUP_NAME = "Support"
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Technique": ("Serveurs et VPS", "Réseau et DNS", "Messagerie"),
    "Facturation": (),
    "Commercial": (),
}
# priority: (policy name, first response, next response, resolution, warning), business minutes
POLICIES = {
    "urgent": ("Priorité urgente", 60, 120, 480, 15),
    "high": ("Priorité haute", 120, 240, 960, 30),
    "medium": ("Priorité moyenne", 240, 480, 1440, 30),
    "low": ("Priorité basse", 480, 960, 2400, 60),
}
# Level 1 tells the lead at the breach; level 2, two hours on, the admins too, and raises the
# priority.
ESCALATIONS = (
    {"level": 1, "after_minutes": 0, "notify_lead": True, "notify_admins": False,
     "raise_priority": False},
    {"level": 2, "after_minutes": 120, "notify_lead": True, "notify_admins": True,
     "raise_priority": True},
)  # fmt: skip
_SIGNATURE = "\n\nCordialement,\n{{ agent.name }}"
CANNED_REPLIES = (
    (
        "Accusé de réception",
        "Bonjour,\n\nNous avons bien reçu la demande {{ ticket.number }} de {{ customer.name }} "
        "et nous la prenons en charge. Nous revenons vers vous dès que possible." + _SIGNATURE,
    ),
    (
        "Besoin d'informations complémentaires",
        "Bonjour,\n\nPour avancer sur la demande {{ ticket.number }}, nous avons besoin de "
        "quelques précisions :\n\n- \n\nSans nouvelles de votre part, la demande sera clôturée "
        "automatiquement dans quelques jours." + _SIGNATURE,
    ),
    (
        "Demande résolue, clôture",
        "Bonjour,\n\nLa demande {{ ticket.number }} est résolue. Si le problème persiste, "
        "répondez simplement à ce message : la demande sera rouverte." + _SIGNATURE,
    ),
)


async def ensure_support_defaults(db: AsyncSession) -> None:
    """Create the starting configuration unless a default calendar exists (idempotent)."""
    await lock_defaults(db, "business_calendars")  # two processes bootstrapping at once
    if await db.scalar(select(BusinessCalendar.id).where(BusinessCalendar.is_default).limit(1)):
        return
    calendar = BusinessCalendar(
        name=CALENDAR_NAME,
        time_zone="Africa/Algiers",
        working_days=sorted(ALGERIAN_WEEK),
        hours=[["08:00", "16:30"]],
        is_default=True,
    )
    db.add(calendar)
    await db.flush()
    this_year = date.today().year
    for year in (this_year, this_year + 1):
        await insert_public_holidays(db, calendar.id, year, "fr")

    has_default_group = await db.scalar(
        select(SupportGroup.id).where(SupportGroup.is_default).limit(1)
    )
    await db.execute(
        insert(SupportGroup)
        .values(name=GROUP_NAME, assignment_mode="round_robin", is_default=not has_default_group)
        .on_conflict_do_nothing(index_elements=["name"])
    )

    if not await db.scalar(select(TicketCategory.id).limit(1)):
        for position, (name, children) in enumerate(CATEGORIES.items(), start=1):
            parent = TicketCategory(name=name, position=position * 10)
            db.add(parent)
            await db.flush()
            for child_position, child in enumerate(children, start=1):
                db.add(
                    TicketCategory(name=child, parent_id=parent.id, position=child_position * 10)
                )

    for position, (priority, (name, first, following, resolution, warning)) in enumerate(
        POLICIES.items(), start=1
    ):
        policy_id = await db.scalar(
            insert(SlaPolicy)
            .values(
                name=name,
                position=position * 10,
                match_priorities=[priority],
                calendar_id=calendar.id,
                first_response_minutes=first,
                next_response_minutes=following,
                resolution_minutes=resolution,
                warning_minutes=warning,
            )
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(SlaPolicy.id)
        )
        if policy_id is not None:
            await db.execute(
                insert(SlaEscalationLevel).values(
                    [{"policy_id": policy_id, **level} for level in ESCALATIONS]
                )
            )

    if not await db.scalar(select(CannedReply.id).limit(1)):
        db.add_all(
            CannedReply(category="Général", title=title, body=body)
            for title, body in CANNED_REPLIES
        )
    await db.flush()
    audit.record(
        db, SYSTEM, "support.defaults_created", target_type="business_calendar",
        target_id=calendar.id, after={"calendar": CALENDAR_NAME, "group": GROUP_NAME},
    )  # fmt: skip
