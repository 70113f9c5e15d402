"""Tickets, as the web pages and the JSON API use them: open a ticket (update-with-start, so the
caller gets the number back in one round trip), send it updates under the caller's request id,
and read what a given person may see.

Permissions and company scoping are checked here, before anything reaches the workflow; the
workflow's validators check what the ticket's state allows. A refusal from either becomes
`TicketRefused`, whose `kind` the pages turn into words and the API into a problem body.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.access import Principal
from api.settings import Settings
from db.models import Ticket, User, UserKind, UserStatus
from i18n import N_
from workflows.search_attributes import CUSTOMER_ID
from workflows.ticket_messages import Author, Merge, OpenTicket, Reply, TicketView
from workflows.tickets import TicketWorkflow, workflow_id

REFUSALS = {
    "TicketClosed": N_("This ticket is closed."),
    "TicketMerged": N_("This ticket was merged into another one."),
    "EmptyMessage": N_("Write a message or attach a file."),
    "InvalidTransition": N_("This status change is not possible from the ticket's status."),
    "InvalidPriority": N_("Choose one of the listed priorities."),
    "InvalidMerge": N_(
        "A ticket can only be merged into another open ticket of the same customer."
    ),
    "ReopenWindowPassed": N_("This ticket can no longer be reopened; write a new one."),
    "TooManyTags": N_("Too many tags."),
    "InvalidTag": N_("A tag has 1 to 40 characters."),
    "InvalidReference": N_("This refers to something that no longer exists; reload the page."),
    "NotAllowed": N_("You are not allowed to do this."),
    "TicketFinished": N_("This ticket is archived; write a new one."),
}
MENTION = re.compile(r"(?<![\w.])@([\w.+-]+)")
# Refusals after which a customer's message starts a new ticket instead (see customer_reply).
PAST_REOPENING = frozenset({"ReopenWindowPassed", "TicketFinished"})
# How far customer_reply follows merged tickets (a merge into a ticket later merged too).
MERGE_HOPS = 10


class TicketRefused(Exception):
    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind if kind in REFUSALS else "NotAllowed"
        self.detail = detail

    @property
    def message(self) -> str:
        """The untranslated msgid; translate it for the reader."""
        return REFUSALS[self.kind]


def author_of(principal: Principal) -> Author:
    user = principal.user
    return Author(str(user.id), user.full_name, "agent" if principal.is_staff else "customer")


def new_request_id() -> str:
    """For forms: a hidden field, so a double submit applies once."""
    return str(uuid.uuid4())


def valid_request_id(value: str | None) -> str:
    """A client's request id if it is a UUID, else a fresh one (no idempotency then)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return new_request_id()


async def open_ticket(client: Client, settings: Settings, request: OpenTicket) -> TicketView:
    """Start the ticket's workflow and wait until it is on record. The ticket id is the caller's
    request id, so a retried or double-submitted form opens one ticket."""
    start = WithStartWorkflowOperation(
        TicketWorkflow.run,
        # Both arguments, always: the SDK applies type hints only when every one has a value.
        args=[request, None],
        id=workflow_id(request.ticket_id),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A finished ticket's id is never reused for another run.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(CUSTOMER_ID, request.customer_id)]
        ),
    )
    try:
        return await client.execute_update_with_start_workflow(
            TicketWorkflow.opened, start_workflow_operation=start, id=f"opened-{request.ticket_id}"
        )
    except WorkflowUpdateFailedError as failed:
        raise _refusal(failed) from failed


async def update(
    client: Client, ticket_id: uuid.UUID | str, method: Callable[..., Any], message: Any
) -> TicketView:
    """Send one update (`TicketWorkflow.reply`, `.assign`, …) under the message's request id:
    Temporal answers a repeated id with the first result instead of applying it twice."""
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id(str(ticket_id)))
    try:
        return await handle.execute_update(method, message, id=message.request_id)
    except WorkflowUpdateFailedError as failed:
        raise _refusal(failed) from failed
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            # The run ended: a closed ticket whose reopen window passed.
            raise TicketRefused("TicketFinished", str(error)) from error
        raise


@dataclass
class CustomerReplyOutcome:
    """Where a customer's message went: the ticket it was added to, or (`follow_up`) the new
    ticket it opened because the one it answered was closed beyond its reopen window."""

    view: TicketView
    follow_up: bool


async def customer_reply(
    client: Client,
    settings: Settings,
    db: AsyncSession,
    ticket: Ticket,
    message: Reply,
    *,
    channel: str = "portal",
    locale: str = "fr",
) -> CustomerReplyOutcome:
    """A customer's message on `ticket`: the one path for the portal, the JSON API and incoming
    mail. A merged ticket's message goes to the ticket it was merged into; a ticket closed beyond
    its reopen window (or whose run has ended) gets a new linked ticket, opened under the
    message's request id, so a retry opens it once. Scoping is the caller's (`ticket_for`)."""
    for _ in range(MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = await db.get(Ticket, ticket.merged_into_id) or ticket
    try:
        return CustomerReplyOutcome(await update(client, ticket.id, TicketWorkflow.reply, message),
                                    follow_up=False)  # fmt: skip
    except TicketRefused as refused:
        if refused.kind not in PAST_REOPENING:
            raise
    follow_up = OpenTicket(
        ticket_id=message.request_id,
        subject=ticket.subject,
        body=message.body,
        customer_id=str(ticket.customer_id),
        requester=message.author,
        channel=channel,
        priority=ticket.priority,
        category_id=str(ticket.category_id) if ticket.category_id else None,
        group_id=str(ticket.group_id) if ticket.group_id else None,
        attachments=message.attachments,
        follow_up_of=str(ticket.id),
        locale=locale,
    )
    return CustomerReplyOutcome(await open_ticket(client, settings, follow_up), follow_up=True)


async def merge_into(
    client: Client, db: AsyncSession, ticket: Ticket, into_number: str, author: Author,
    request_id: str,
) -> TicketView:  # fmt: skip
    """Merge `ticket` into the ticket numbered `into_number`: only another open ticket of the
    same customer, so a merge never moves a conversation to another company."""
    target = await db.scalar(select(Ticket).where(Ticket.number == into_number.strip().upper()))
    if (
        target is None
        or target.id == ticket.id
        or target.customer_id != ticket.customer_id
        or target.status == "closed"
        or target.merged_into_id is not None
    ):
        raise TicketRefused("InvalidMerge", f"cannot merge into {into_number!r}")
    change = Merge(request_id, author, str(target.id), target.number)
    return await update(client, ticket.id, TicketWorkflow.merge, change)


def _refusal(failed: WorkflowUpdateFailedError) -> TicketRefused:
    cause = failed.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return TicketRefused(cause.type, cause.message)
    raise failed


async def ticket_for(db: AsyncSession, principal: Principal, ticket_id: str) -> Ticket | None:
    """The ticket if this person may see it: staff with `tickets.view` any, a customer only
    their company's. None otherwise, so pages answer 404 and existence does not leak."""
    try:
        key = uuid.UUID(ticket_id)
    except ValueError:
        return None
    ticket = await db.get(Ticket, key)
    if ticket is None or not principal.can("tickets.view"):
        return None
    if not principal.is_staff and ticket.customer_id != principal.customer_id:
        return None
    return ticket


async def mentioned_staff(db: AsyncSession, body: str) -> list[str]:
    """Staff mentioned as `@` + the part of their email before the @ (`@amina.benali`)."""
    handles = {handle.lower().rstrip(".") for handle in MENTION.findall(body)}
    if not handles:
        return []
    staff = await db.scalars(
        select(User).where(User.kind == UserKind.STAFF, User.status == UserStatus.ACTIVE)
    )
    return sorted(str(u.id) for u in staff if u.email.split("@")[0].lower() in handles)
