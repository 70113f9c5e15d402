"""Bulk actions over selected tickets: check the agent's choice, start `TicketBulkWorkflow`, and
read its progress for the one who started it.

The bulk id comes from the form's request id (`api.ticket_input.request_key`), and the workflow
id from it: a double submit finds the run already there and shows its progress instead of
starting a second one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.access import Principal
from api.identity.accounts import InputError
from api.settings import Settings
from api.ticket_desk import (
    PROPERTY_PERMISSION,
    check_priority,
    check_status,
    clean_tag,
    parse_uuid,
    status_permission,
)
from api.ticket_input import request_key
from api.tickets import author_of
from db.models import Ticket, User, UserKind, UserStatus
from i18n import N_
from workflows.ticket_bulk import (
    BULK_ACTIONS,
    BulkProgress,
    BulkRequest,
    TicketBulkWorkflow,
    workflow_id,
)

# A page of the list at its largest: a bulk action is about what the agent sees.
MAX_TICKETS = 100


class BulkNotAllowed(Exception):
    """The agent's role does not allow this action (403)."""


@dataclass
class BulkForm:
    request_id: str
    action: str
    ticket_ids: list[str] = field(default_factory=list)
    assignee: str = ""
    status: str = ""
    priority: str = ""
    tag: str = ""


def required_permission(action: str, status: str = "") -> str:
    if action == "close":
        return status_permission("closed")
    if action == "status":
        return status_permission(status)
    return PROPERTY_PERMISSION


async def _check(db: AsyncSession, form: BulkForm) -> tuple[list[str], str]:
    """The tickets and the action's value, or `InputError` naming what is wrong."""
    errors: dict = {}
    wanted = {key for raw in form.ticket_ids if (key := parse_uuid(raw))}
    if not wanted:
        errors["tickets"] = (N_("Select at least one ticket."), {})
    elif len(wanted) > MAX_TICKETS:
        errors["tickets"] = (N_("Select at most %(count)s tickets."), {"count": MAX_TICKETS})
    value = ""
    if form.action == "assign":
        agent = parse_uuid(form.assignee)
        active_staff = select(User.id).where(
            User.id == agent, User.kind == UserKind.STAFF, User.status == UserStatus.ACTIVE
        )
        if agent is None or await db.scalar(active_staff) is None:
            errors["assignee"] = (N_("Choose an agent."), {})
        value = str(agent)
    elif form.action == "status":
        value = check_status(form.status, "status", errors)
    elif form.action == "priority":
        value = check_priority(form.priority, "priority", errors)
    elif form.action == "tag":
        value = clean_tag(form.tag, "tag", errors)
    if errors:
        raise InputError(errors)
    # Unknown ids (an edited form) are dropped; the order is the list's, as the agent saw it.
    known = set(await db.scalars(select(Ticket.id).where(Ticket.id.in_(wanted))))
    ordered = [str(key) for raw in form.ticket_ids if (key := parse_uuid(raw)) in known]
    if not ordered:
        raise InputError({"tickets": (N_("Select at least one ticket."), {})})
    return list(dict.fromkeys(ordered)), value


async def start_bulk(
    db: AsyncSession, client: Client, settings: Settings, principal: Principal, form: BulkForm
) -> str:
    """Start the bulk action and return its id; `InputError` or `BulkNotAllowed` otherwise."""
    if form.action not in BULK_ACTIONS:
        raise InputError({"action": (N_("Choose an action."), {})})
    if not principal.can(required_permission(form.action, form.status)):
        raise BulkNotAllowed(form.action)
    ticket_ids, value = await _check(db, form)
    # Derived from the agent's own id too: someone else's request id names another run.
    bulk_id = request_key(principal, form.request_id, "bulk")
    request = BulkRequest(bulk_id, author_of(principal), form.action, ticket_ids, value)
    # Submitted again after the first run finished: that run is the answer.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            TicketBulkWorkflow.run,
            request,
            id=workflow_id(bulk_id),
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return bulk_id


@dataclass(frozen=True)
class BulkRun:
    """A bulk action as its progress page shows it."""

    progress: BulkProgress
    # The run ended before every ticket had its answer (an operator terminated it in the
    # Temporal UI, say): the page says so instead of waiting for the rest forever.
    stopped: bool = False

    @property
    def working(self) -> bool:
        return not (self.progress.finished or self.stopped)


async def bulk_progress(client: Client, principal: Principal, bulk_id: str) -> BulkRun | None:
    """The progress of a bulk action the viewer started; None for any other id (404)."""
    key = parse_uuid(bulk_id)
    if key is None:
        return None
    handle = client.get_workflow_handle_for(TicketBulkWorkflow.run, workflow_id(str(key)))
    try:
        progress = await handle.query(TicketBulkWorkflow.progress)
        if progress.author_id != str(principal.user_id):
            return None
        if progress.finished:
            return BulkRun(progress)
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return BulkRun(progress, stopped=description.status != WorkflowExecutionStatus.RUNNING)
