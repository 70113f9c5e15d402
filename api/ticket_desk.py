"""What the agents' desk checks before a change reaches a ticket's workflow: which permission each
change needs, the tags and ids a form may carry, the ticket a merge would go into; canned replies
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
from api.identity.accounts import clean_name
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


async def merge_candidate(db: AsyncSession, ticket: Ticket, number: str) -> Ticket | None:
    """The ticket of the same customer numbered `number`, to name it when the agent is asked
    to confirm a merge (never another company's: its subject would show). Whether the merge
    may happen is `api.tickets.merge_into`'s to say."""
    wanted = " ".join(number.split()).upper()
    if not wanted:
        return None
    return await db.scalar(
        select(Ticket).where(Ticket.number == wanted, Ticket.customer_id == ticket.customer_id)
    )
