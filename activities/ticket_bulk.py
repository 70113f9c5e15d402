"""The one activity of a bulk action: send one ticket its update and say whether it applied.

It talks to Temporal, not to the database: the ticket's own workflow decides and writes. The
update id is the item's request id, so a retried attempt gets the first answer back instead of
applying the change again (the ticket workflow also remembers request ids across its
continue-as-new).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.ticket_bulk import APPLY_TICKET_BULK_ACTION, BulkItem, BulkOutcome
from workflows.ticket_messages import Assign, SetPriority, SetStatus, SetTags
from workflows.tickets import TicketWorkflow, workflow_id


@activity.defn(name=APPLY_TICKET_BULK_ACTION)
async def apply_ticket_bulk_action(item: BulkItem) -> BulkOutcome:
    handle = activity.client().get_workflow_handle_for(
        TicketWorkflow.run, workflow_id(item.ticket_id)
    )
    try:
        await _send(handle, item)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type:
            return BulkOutcome(item.ticket_id, applied=False, refusal=cause.type)
        raise
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            # No running workflow: a ticket closed beyond its reopen window (or no such ticket).
            return BulkOutcome(item.ticket_id, applied=False, refusal="TicketFinished")
        raise
    return BulkOutcome(item.ticket_id, applied=True)


async def _send(handle: WorkflowHandle, item: BulkItem) -> None:
    request_id, author, value = item.request_id, item.author, item.value
    if item.action == "assign":
        # The agent changes; the group stays whatever it is when the change runs.
        change = Assign(request_id, author, None, value or None, keep_group=True)
        await handle.execute_update(TicketWorkflow.assign, change, id=request_id)
    elif item.action == "tag":
        # Added to the tags the ticket has when the change runs: nothing read, nothing lost.
        change = SetTags(request_id, author, add=[value])
        await handle.execute_update(TicketWorkflow.tag, change, id=request_id)
    elif item.action == "priority":
        change = SetPriority(request_id, author, value)
        await handle.execute_update(TicketWorkflow.set_priority, change, id=request_id)
    elif item.action in ("status", "close"):
        status = "closed" if item.action == "close" else value
        change = SetStatus(request_id, author, status)
        await handle.execute_update(TicketWorkflow.set_status, change, id=request_id)
    else:
        raise ApplicationError(f"unknown bulk action {item.action}", non_retryable=True)
