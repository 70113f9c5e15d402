"""What the agents' desk checks before a change reaches a ticket's workflow: which permission each
change needs, and the tags and ids a form may carry. Shared by the ticket page and the bulk
actions, so one ticket and a hundred follow the same rules.

The workflow's validators still decide what the ticket's state allows; this module only keeps
out what the person may not do and what is not a value at all.
"""

from __future__ import annotations

import uuid

from api.access import Principal
from api.identity.accounts import clean_name
from i18n import N_
from workflows.ticket_rules import PRIORITIES, STATUSES, is_resolved

TAG_LENGTH = 40  # the String(40) of `tickets.tags`
TAG_COUNT = 20  # as many as the workflow accepts


def status_permission(status: str) -> str:
    """Resolving or closing is `tickets.close`; moving an open ticket along is part of
    answering it (`tickets.reply`)."""
    return "tickets.close" if status in STATUSES and is_resolved(status) else "tickets.reply"


# Properties of the ticket (who works it, how urgent, how it is filed) are `tickets.assign`.
PROPERTY_PERMISSION = "tickets.assign"


def may_set_status(principal: Principal, status: str) -> bool:
    return principal.can(status_permission(status))


def may_edit_properties(principal: Principal) -> bool:
    return principal.can(PROPERTY_PERMISSION)


def clean_tag(raw: str, field: str, errors: dict) -> str:
    """One tag: a short name without commas (commas separate tags where several are typed)."""
    tag = clean_name(raw, field, errors)
    if field in errors:
        return tag
    if "," in tag:
        errors[field] = (N_("A tag cannot contain a comma."), {})
    elif len(tag) > TAG_LENGTH:
        errors[field] = (N_("Use at most %(count)s characters."), {"count": TAG_LENGTH})
    return tag


def clean_tags(raw: str, field: str, errors: dict) -> list[str]:
    """Tags typed as "vps, facturation": each cleaned, once each, in the order typed."""
    tags: list[str] = []
    for part in raw.split(","):
        if not part.strip():
            continue
        tag = clean_tag(part, field, errors)
        if field in errors:
            return []
        if tag.casefold() not in {known.casefold() for known in tags}:
            tags.append(tag)
    if len(tags) > TAG_COUNT:
        errors[field] = (N_("At most %(count)s tags."), {"count": TAG_COUNT})
    return tags


def check_priority(raw: str, field: str, errors: dict) -> str:
    if raw not in PRIORITIES:
        errors[field] = (N_("Choose from the list."), {})
    return raw


def check_status(raw: str, field: str, errors: dict, allowed=STATUSES) -> str:
    if raw not in allowed:
        errors[field] = (N_("Choose from the list."), {})
    return raw


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw.strip())
    except (ValueError, AttributeError):
        return None
