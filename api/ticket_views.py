"""The live view of one ticket from its workflow, for detail pages that add it to what Postgres
says (ARCHITECTURE.md, "Source of truth"): until when a closed ticket can be reopened is the
workflow's to say, under the automation settings it was opened with."""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from workflows.ticket_messages import TicketView
from workflows.tickets import TicketWorkflow, workflow_id


async def live_view(client: Client, ticket_id: uuid.UUID | str) -> TicketView | None:
    """The workflow's `view` query, or None when it cannot answer (a run that ended long ago
    and was removed by retention: the ticket is then past every window)."""
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id(str(ticket_id)))
    try:
        return await handle.query(TicketWorkflow.view)
    except (RPCError, WorkflowQueryFailedError):
        return None
