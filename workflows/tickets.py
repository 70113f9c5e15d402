"""TicketWorkflow: one ticket's life, from opening to closing, with its SLA clocks, escalations and
automation timers. Id `ticket-{uuid}`.

This module declares the workflow's interface: its run, its query, its updates with their
validators and its signal. What they do lives in modules passed through the sandbox, compiled
once per worker rather than once per run: `workflows.ticket_process` (state, main loop and
timers, writing, notifications) and `workflows.ticket_changes` (each change and what its
validator checks); the SLA in `workflows.ticket_sla`, the carried state in
`workflows.ticket_state`. Call it through typed method references:
`handle.execute_update(TicketWorkflow.reply, Reply(...), id=request_id)`.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # Every module whose dataclasses cross the data converter is named here, so that inside the
    # sandbox pydantic finds their annotations (it resolves them through the sandbox's modules).
    import workflows.outbound_email
    import workflows.sla  # noqa: F401
    from workflows.ticket_changes import TicketChanges
    from workflows.ticket_messages import (  # the activity names are imported from here too
        AUTO_ASSIGN,
        CHOOSE_SLA_POLICY,
        INVALID_REFERENCE,
        MOVE_TICKET_RECORDS,
        OPEN_TICKET,
        PLAN_TICKET_NOTIFICATIONS,
        QUEUE_TICKET_NOTIFICATIONS,
        RECORD_TICKET_CHANGE,
        RECORD_TICKET_OPENED,
        ROUTE_TICKET,
        AddNote,
        Assign,
        InboundEmail,
        Merge,
        MergedIn,
        OpenTicket,
        Reopen,
        Reply,
        SetCategory,
        SetCustomer,
        SetPriority,
        SetStatus,
        SetTags,
        TicketView,
        Watch,
        workflow_id,
    )
    from workflows.ticket_process import MAX_HISTORY_EVENTS, REMEMBERED_REQUESTS
    from workflows.ticket_state import TicketState

__all__ = [
    "AUTO_ASSIGN", "CHOOSE_SLA_POLICY", "INVALID_REFERENCE", "MAX_HISTORY_EVENTS",
    "MOVE_TICKET_RECORDS", "OPEN_TICKET", "PLAN_TICKET_NOTIFICATIONS",
    "QUEUE_TICKET_NOTIFICATIONS", "RECORD_TICKET_CHANGE",
    "RECORD_TICKET_OPENED", "REMEMBERED_REQUESTS", "ROUTE_TICKET", "TicketWorkflow", "workflow_id",
]  # fmt: skip


# Not sandboxed: the sandbox re-executed this module and re-applied `workflow.defn` (which
# inspects every method TicketChanges inherits) for each new run, the largest share of the worker's
# CPU for opening a ticket once the behaviour moved out (bench.tickets, py-spy). It guarded only
# this interface: the behaviour lives in passed-through modules, which the sandbox never checked.
# Determinism rests, as before, on the rules in ticket_process's docstring and the replay tests.
@workflow.defn(sandboxed=False)
class TicketWorkflow(TicketChanges):
    @workflow.init
    def __init__(self, request: OpenTicket, carried: TicketState | None = None) -> None:
        super().__init__(request, carried)

    @workflow.run
    async def run(self, request: OpenTicket, carried: TicketState | None = None) -> str:
        return await self._live(request, carried)

    @workflow.query
    def view(self) -> TicketView:
        return self._view()

    @workflow.update
    async def opened(self) -> TicketView:
        """For update-with-start: answers once the ticket is on record, with its number."""
        return await self._opened()

    @workflow.update
    async def reply(self, message: Reply) -> TicketView:
        return await self._apply(message.request_id, lambda now: self._reply(message, now))

    @reply.validator
    def _validate_reply(self, message: Reply) -> None:
        self._check_reply(message)

    @workflow.update
    async def add_note(self, note: AddNote) -> TicketView:
        return await self._apply(note.request_id, lambda now: self._add_note(note, now))

    @add_note.validator
    def _validate_add_note(self, note: AddNote) -> None:
        self._check_add_note(note)

    @workflow.update
    async def assign(self, change: Assign) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._assign(change, now))

    @assign.validator
    def _validate_assign(self, change: Assign) -> None:
        self._check_assign(change)

    @workflow.update
    async def set_status(self, change: SetStatus) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_status(change, now))

    @set_status.validator
    def _validate_set_status(self, change: SetStatus) -> None:
        self._check_set_status(change)

    @workflow.update
    async def set_priority(self, change: SetPriority) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_priority(change, now))

    @set_priority.validator
    def _validate_set_priority(self, change: SetPriority) -> None:
        self._check_set_priority(change)

    @workflow.update
    async def set_category(self, change: SetCategory) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_category(change, now))

    @set_category.validator
    def _validate_set_category(self, change: SetCategory) -> None:
        self._check_set_category(change)

    @workflow.update
    async def tag(self, change: SetTags) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._tag(change, now))

    @tag.validator
    def _validate_tag(self, change: SetTags) -> None:
        self._check_tag(change)

    @workflow.update
    async def watch(self, change: Watch) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._watch(change, now))

    @watch.validator
    def _validate_watch(self, change: Watch) -> None:
        self._check_watch(change)

    @workflow.update
    async def merge(self, change: Merge) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._merge(change, now))

    @merge.validator
    def _validate_merge(self, change: Merge) -> None:
        self._check_merge(change)

    @workflow.update
    async def reopen(self, change: Reopen) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._reopen_now(change, now))

    @reopen.validator
    def _validate_reopen(self, change: Reopen) -> None:
        self._check_reopen(change)

    @workflow.update
    async def set_customer(self, change: SetCustomer) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_customer(change, now))

    @set_customer.validator
    def _validate_set_customer(self, change: SetCustomer) -> None:
        self._check_set_customer(change)

    @workflow.signal
    async def merged_in(self, merged: MergedIn) -> None:
        """Sent by a ticket merged into this one, after its records moved here."""
        await self._merged_in(merged)

    @workflow.signal
    async def inbound_email(self, mail: InboundEmail) -> None:
        """A customer's mail, threaded here by the mailbox poller (a workflow cannot send
        updates; what a ticket cannot take was routed elsewhere before sending)."""
        await self._inbound_email(mail)
