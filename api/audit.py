"""The audit trail: written in the same transaction as the change it describes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where. `system` for timers and workflows."""

    user_id: uuid.UUID | None
    label: str
    ip: str | None = None
    user_agent: str = ""


SYSTEM = Actor(None, "system")


def record(
    db: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target_type: str = "",
    target_id: object = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_label=actor.label[:320],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:100],
        before=before,
        after=after,
        ip_address=actor.ip,
        user_agent=actor.user_agent[:500],
    )
    db.add(event)
    return event
