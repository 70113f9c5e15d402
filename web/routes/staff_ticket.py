"""Back-office, one ticket (/staff/tickets/{id}): the timeline (messages, internal notes, events,
emails and their delivery), the live SLA badge, who else is on the ticket, the properties panel,
the reply and note boxes.

The page reads PostgreSQL. Its forms post to `web.routes.staff_ticket_messages` (reply, note,
canned replies) and `web.routes.staff_ticket_properties` (status, assignment, tags, watchers,
merge), which send the ticket's workflow an update and come back here; a refusal renders this
page again with the reason next to the form and the input kept (`ticket_page`).

One URL serves the page and its live SLA badge: the badge's htmx polling (every 30 seconds) names
it as its target and gets only that block. The presence heartbeat posts to its own URL (it
writes) and gets the presence block back.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from api import tickets
from api.access import STAFF, Principal, require, signed_in
from api.routes.deps import SessionDep
from api.support.common import NotFound
from api.ticket_desk import canned_reply_for_ticket, may_edit_properties, parse_uuid
from api.ticket_presence import ACTIVITIES, HEARTBEAT_SECONDS, heartbeat, others_present
from db.models import Customer, SupportGroup, Ticket, TicketCategory, TicketWatcher, User
from db.queries.support import canned_replies
from db.queries.ticket_conversation import ticket_links
from db.queries.ticket_timeline import staff_timeline
from db.queries.tickets import nearest_due, ticket_choices
from web import ticket_labels
from web.staff_sidebar import load_ticket_queue_counts
from web.templating import is_fragment_request, render, templates
from workflows.ticket_rules import CHANNEL_LABELS, REPLY_STATUSES

logger = logging.getLogger(__name__)

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("tickets.view", area=STAFF))]
SLA_POLL_SECONDS = 30
# Forms carry a fresh request id each (a double submit applies once, and no two forms of the
# page share one).
templates.env.globals["new_request_id"] = tickets.new_request_id


async def load_ticket(db: AsyncSession, principal: Principal, ticket_id: str) -> Ticket:
    """The ticket, or 404 (an unknown id and one the person may not see look the same)."""
    ticket = await tickets.ticket_for(db, principal, ticket_id)
    if ticket is None:
        raise HTTPException(status_code=404)
    return ticket


def page_url(ticket: Ticket, anchor: str = "") -> str:
    return f"/staff/tickets/{ticket.id}" + (f"#{anchor}" if anchor else "")


async def _people(db: AsyncSession, ids: list[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    wanted = {key for key in ids if key is not None}
    if not wanted:
        return {}
    return {user.id: user for user in await db.scalars(select(User).where(User.id.in_(wanted)))}


async def _watchers(db: AsyncSession, ticket: Ticket) -> list[User]:
    rows = await db.scalars(
        select(User)
        .join(TicketWatcher, TicketWatcher.user_id == User.id)
        .where(TicketWatcher.ticket_id == ticket.id)
        .order_by(User.full_name)
    )
    return list(rows)


async def _sla_due(db: AsyncSession, ticket: Ticket):
    return await db.scalar(select(nearest_due()).where(Ticket.id == ticket.id))


async def ticket_page(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    *,
    forms: dict[str, dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    merge_into: Ticket | None = None,
) -> Response:
    """The page, with what the agent typed (`forms`: form name → its values) and why it was
    refused (`errors`: field → words) when a form comes back."""
    show = request.query_params.get("show", "")
    people = await _people(db, [ticket.requester_id, ticket.assignee_id])
    kept: defaultdict[str, dict[str, Any]] = defaultdict(dict, forms or {})
    choices = await ticket_choices(db)
    context = {
        "principal": principal,
        "ticket": ticket,
        "customer": await db.get(Customer, ticket.customer_id),
        "requester": people.get(ticket.requester_id),
        "assignee": people.get(ticket.assignee_id),
        "group": await db.get(SupportGroup, ticket.group_id) if ticket.group_id else None,
        "category": await db.get(TicketCategory, ticket.category_id)
        if ticket.category_id
        else None,
        "sla_due": await _sla_due(db, ticket),
        "timeline": await staff_timeline(db, ticket.id, messages_only=show == "messages"),
        "show": show,
        "links": await ticket_links(db, ticket),
        "watchers": await _watchers(db, ticket),
        "present": await others_present(db, ticket.id, principal.user_id),
        "forms": kept,
        "errors": errors or {},
        "merge_into": merge_into,
        "may_edit": may_edit_properties(principal) and ticket.merged_into_id is None,
        "agents": choices.agents,
        "groups": choices.groups,
        "categories": choices.categories,
        "canned": [reply for reply in await canned_replies(db) if reply.active],
        "statuses": ticket_labels.STATUS,
        "channels": CHANNEL_LABELS,
        "priorities": ticket_labels.PRIORITY,
        "reply_statuses": REPLY_STATUSES,
        "heartbeat_seconds": HEARTBEAT_SECONDS,
        "sla_poll_seconds": SLA_POLL_SECONDS,
    }
    return render(request, "staff/tickets/show.html", context, status_code=status_code)


@router.get("/{ticket_id}", dependencies=[Depends(load_ticket_queue_counts)])
async def ticket_show(
    request: Request,
    ticket_id: str,
    principal: Viewer,
    db: SessionDep,
    canned: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    ticket = await load_ticket(db, principal, ticket_id)
    if request.headers.get("hx-target") == "ticket-sla" and is_fragment_request(request):
        # The badge's own polling: only what it shows.
        context = {"ticket": ticket, "sla_due": await _sla_due(db, ticket)}
        return render(request, "staff/tickets/show.html", context, block="sla")
    if not is_fragment_request(request):
        # Opening the page counts as being on the ticket, with or without JavaScript.
        await heartbeat(db, ticket.id, principal.user_id, "viewing")
        await db.commit()
    forms = {}
    if canned:
        # Without JavaScript the canned reply picker is a GET form: the box comes prefilled.
        forms["reply"] = {"body": await insert_canned(request, db, principal, ticket, canned, "")}
    return await ticket_page(request, db, principal, ticket, forms=forms)


@router.post("/{ticket_id}/presence")
async def ticket_presence(
    request: Request,
    ticket_id: str,
    principal: Viewer,
    db: SessionDep,
    activity: Annotated[str, Query(max_length=10)] = "viewing",
) -> Response:
    """The heartbeat: htmx posts it from the page (viewing) and from the reply box while the
    agent types (replying); the answer is the presence block."""
    ticket = await load_ticket(db, principal, ticket_id)
    await heartbeat(
        db, ticket.id, principal.user_id, activity if activity in ACTIVITIES else "viewing"
    )
    await db.commit()
    if not is_fragment_request(request):
        return RedirectResponse(page_url(ticket), status_code=303)
    return render(
        request,
        "staff/tickets/show.html",
        {
            "ticket": ticket,
            "present": await others_present(db, ticket.id, principal.user_id),
            "heartbeat_seconds": HEARTBEAT_SECONDS,
        },
        block="presence",
    )


async def insert_canned(
    request: Request, db: AsyncSession, principal: Principal, ticket: Ticket, raw_id: str,
    body: str,
) -> str:  # fmt: skip
    """The reply box's text with the canned reply `raw_id` rendered for this ticket and added
    at its end; the text unchanged if the reply cannot be used (unknown, switched off, or a
    template that fails despite its check when saved)."""
    reply_id = parse_uuid(raw_id)
    try:
        if reply_id is None:
            raise NotFound(raw_id)
        text = await canned_reply_for_ticket(db, reply_id, ticket, principal.user)
    except NotFound:
        return body
    except TemplateError:
        logger.warning("canned reply %s cannot be rendered", reply_id, exc_info=True)
        await db.commit()  # ends the read; a rollback would expire the ticket the page shows
        return body
    await db.commit()  # the use is counted
    return f"{body.rstrip()}\n\n{text}" if body.strip() else text
