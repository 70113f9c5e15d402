"""TicketBulkWorkflow: one bulk action of an agent (assign, set a status or a priority, add a
tag, close) over the tickets they selected. Id `ticket-bulk-{uuid}`, the uuid being the form's
request id, so a double submit starts one run.

Each ticket gets its own update from the `apply_ticket_bulk_action` activity (a workflow cannot
send an update to another workflow), under a request id derived from the bulk id and the ticket
id: a retried activity, or a replayed run, never applies a change twice. A ticket that refuses
(closed, merged, not allowed) is counted with its reason; the others go on.

Query `progress` answers a `BulkProgress`; the run returns the final one.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Literal

from temporalio import workflow

from workflows import activity_options
from workflows.ticket_messages import Author

APPLY_TICKET_BULK_ACTION = "apply_ticket_bulk_action"
BulkAction = Literal["assign", "status", "priority", "tag", "close"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("assign", "status", "priority", "tag", "close")
# Tickets updated at once: enough to finish a page in a few seconds, few enough that one bulk
# action does not crowd out the agents working tickets one by one.
PARALLEL = 5


def workflow_id(bulk_id: str) -> str:
    return f"ticket-bulk-{bulk_id}"


@dataclass
class BulkRequest:
    bulk_id: str
    author: Author
    action: str
    ticket_ids: list[str]
    # The assignee's id, the status, the priority or the tag; empty for "close".
    value: str = ""


@dataclass
class BulkItem:
    """The activity's input: one ticket's change."""

    request_id: str
    ticket_id: str
    author: Author
    action: str
    value: str


@dataclass
class BulkOutcome:
    ticket_id: str
    applied: bool
    # The refusal's kind (`api.tickets.REFUSALS`) when not applied.
    refusal: str = ""


@dataclass
class BulkProgress:
    action: str
    value: str
    author_id: str | None
    total: int
    outcomes: list[BulkOutcome] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return len(self.outcomes) >= self.total

    @property
    def applied(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.applied)

    @property
    def refused(self) -> int:
        return len(self.outcomes) - self.applied


def item_request_id(bulk_id: str, ticket_id: str) -> str:
    """The ticket update's request id: a uuid (it names the ticket's timeline event), the same
    for the same bulk action and ticket on every attempt."""
    return str(uuid.uuid5(uuid.UUID(bulk_id), ticket_id))


@workflow.defn
class TicketBulkWorkflow:
    @workflow.init
    def __init__(self, request: BulkRequest) -> None:
        self._progress = BulkProgress(
            request.action, request.value, request.author.user_id, len(request.ticket_ids)
        )

    @workflow.run
    async def run(self, request: BulkRequest) -> BulkProgress:
        pending = list(dict.fromkeys(request.ticket_ids))
        self._progress.total = len(pending)
        while pending:
            batch, pending = pending[:PARALLEL], pending[PARALLEL:]
            outcomes = await asyncio.gather(*(self._apply(request, ticket) for ticket in batch))
            self._progress.outcomes.extend(outcomes)
        return self._progress

    async def _apply(self, request: BulkRequest, ticket_id: str) -> BulkOutcome:
        item = BulkItem(
            request_id=item_request_id(request.bulk_id, ticket_id),
            ticket_id=ticket_id,
            author=request.author,
            action=request.action,
            value=request.value,
        )
        return await workflow.execute_activity(
            APPLY_TICKET_BULK_ACTION, item, result_type=BulkOutcome, **activity_options.DATABASE
        )

    @workflow.query
    def progress(self) -> BulkProgress:
        return self._progress
