"""What the agents' desk checks before a change reaches a ticket's workflow: which permission each
change needs, the tags and ids a form may carry, the ticket a merge goes into; and canned replies
rendered for a ticket. Shared by the ticket page and the bulk actions, so one ticket and a
hundred follow the same rules.

The workflow's validators still decide what the ticket's state allows; this module only keeps
out what the person may not do and what is not a value at all.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Principal
from api.identity.accounts import InputError, clean_name
from api.support.canned_replies import render_canned_reply
from api.support.common import NotFound
from db.models import CannedReply, Customer, Ticket, User
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


# ---------------------------------------------------------------- canned replies and merging


async def canned_reply_for_ticket(
    db: AsyncSession, reply_id: uuid.UUID, ticket: Ticket, agent: User
) -> str:
    """An active canned reply rendered for this ticket (sandboxed, see
    `api.support.canned_replies`), its use counted. `NotFound` for an unknown or inactive reply;
    a template that fails despite its check at save time raises `jinja2.TemplateError`."""
    reply = await db.scalar(
        select(CannedReply).where(CannedReply.id == reply_id, CannedReply.active.is_(True))
    )
    if reply is None:
        raise NotFound(reply_id)
    customer = await db.get(Customer, ticket.customer_id)
    requester = await db.get(User, ticket.requester_id) if ticket.requester_id else None
    company = customer.name if customer else ""
    text = render_canned_reply(
        reply.body,
        {
            "customer": {"name": company},
            "ticket": {"number": ticket.number, "subject": ticket.subject},
            "agent": {"name": agent.full_name},
            "requester": {"name": requester.full_name if requester else company},
        },
    )
    # Counted in the database itself: two agents inserting at once both count.
    await db.execute(
        update(CannedReply)
        .where(CannedReply.id == reply.id)
        .values(usage_count=CannedReply.usage_count + 1)
    )
    return text


async def merge_target(db: AsyncSession, ticket: Ticket, number: str) -> Ticket:
    """The ticket `number` names, if `ticket` may be merged into it: the same customer's (a
    merge moves the messages, and a customer must never read another company's), not itself,
    still open. `InputError` on the "merge" field otherwise."""
    wanted = " ".join(number.split()).upper()
    target = await db.scalar(select(Ticket).where(Ticket.number == wanted)) if wanted else None
    if target is None or target.customer_id != ticket.customer_id:
        problem = N_("No ticket of this customer has this number.")
    elif target.id == ticket.id:
        problem = N_("A ticket cannot be merged into itself.")
    elif target.merged_into_id is not None or is_resolved(target.status):
        problem = N_("That ticket is resolved or closed: merge into an open one.")
    else:
        return target
    raise InputError({"merge": (problem, {})})
