"""What the support settings services share: their errors, the checks that turn a form's text
into values (one message per field; with any error nothing is written), audit helpers and the
lock that keeps exactly one default group and one default calendar."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.identity.accounts import InputError, clean_name
from api.users import Refused
from i18n import N_

__all__ = [
    "NAME_LIMIT",
    "InputError",
    "NotFound",
    "Refused",
    "check_id",
    "check_int",
    "check_name",
    "clear_other_defaults",
    "record_changes",
]

NAME_LIMIT = 120  # the String(120) of every name column of db/models/tickets.py
_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,9}")


class NotFound(LookupError):
    """No such record: the page answers 404."""


def check_name(
    raw: str, field: str, errors: dict, *, limit: int = NAME_LIMIT, required: bool = True
) -> str:
    """A one-line name, spaces collapsed; "" when optional and left empty."""
    if not required and not raw.strip():
        return ""
    value = clean_name(raw, field, errors)
    if field not in errors and len(value) > limit:
        errors[field] = (N_("Use at most %(count)s characters."), {"count": limit})
    return value


def check_int(
    raw: str, field: str, errors: dict, *, minimum: int, maximum: int, required: bool = True
) -> int | None:
    """A whole number within bounds; None when optional and left empty."""
    value = raw.strip()
    if not value:
        if required:
            errors[field] = (N_("This field is required."), {})
        return None
    if not _WHOLE_NUMBER.fullmatch(value):
        errors[field] = (N_("Enter a whole number."), {})
        return None
    number = int(value)
    if number < minimum:
        errors[field] = (N_("Enter a number of at least %(minimum)s."), {"minimum": minimum})
    elif number > maximum:
        errors[field] = (N_("Enter a number of at most %(maximum)s."), {"maximum": maximum})
    return number


def check_id(raw: str, field: str, errors: dict, known: set[uuid.UUID]) -> uuid.UUID | None:
    """One of `known` (a choice list's ids), or None for the empty choice."""
    if not raw.strip():
        return None
    try:
        chosen = uuid.UUID(raw.strip())
    except ValueError:
        chosen = None
    if chosen not in known:
        errors[field] = (N_("Choose from the list."), {})
        return None
    return chosen


def parse_id(raw: str | uuid.UUID) -> uuid.UUID:
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(raw)
    except ValueError as invalid:
        raise NotFound(raw) from invalid


def raise_if(errors: dict) -> None:
    if errors:
        raise InputError(errors)


def record_changes(
    db: AsyncSession, actor: Actor, action: str, target_type: str, target_id: object,
    before: dict[str, Any], after: dict[str, Any],
) -> bool:  # fmt: skip
    """Audit what changed between two snapshots (only the keys that did); nothing when nothing
    did. Returns whether anything changed."""
    keys = [key for key in after if before.get(key) != after[key]]
    if keys:
        audit.record(
            db, actor, action, target_type=target_type, target_id=target_id,
            before={key: before.get(key) for key in keys}, after={key: after[key] for key in keys},
        )  # fmt: skip
    return bool(keys)


async def lock_defaults(db: AsyncSession, table: str) -> None:
    """Serialise "which one is the default" changes of a table until the transaction ends: two
    admins making two different records the default at the same moment would otherwise both
    clear the old one and leave two defaults."""
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": table})


async def clear_other_defaults(db: AsyncSession, model: type, keep: uuid.UUID) -> None:
    await db.execute(
        update(model).where(model.id != keep, model.is_default.is_(True)).values(is_default=False)
    )


async def name_taken(
    db: AsyncSession, model: type, name: str, except_id: uuid.UUID | None, **same: object
) -> bool:
    """Whether another record of `model` already has this name (ignoring case), among those
    whose columns equal `same` (siblings of a category, for instance)."""
    query = select(model.id).where(func.lower(model.name) == name.lower())
    for column, value in same.items():
        attribute = getattr(model, column)
        query = query.where(attribute.is_(None) if value is None else attribute == value)
    if except_id is not None:
        query = query.where(model.id != except_id)
    return await db.scalar(query.limit(1)) is not None
