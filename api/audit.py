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
        actor_label=_storable(actor.label[:320]),
        action=action,
        target_type=target_type,
        target_id=_storable(str(target_id)[:100]),
        before=_storable(before),
        after=_storable(after),
        ip_address=actor.ip,
        user_agent=_storable(actor.user_agent[:500]),
    )
    db.add(event)
    return event


def _storable(value: Any) -> Any:
    """What an attacker typed is evidence, kept as typed but for NUL, which PostgreSQL text and
    JSONB cannot hold."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value
