"""How `TicketWorkflow` lives: its state, the main loop with its timers, and the machinery every
change goes through: one lock, once per request id, written whole to the projection (a write the
database refuses puts the state back), search attributes, notifications queued with the writes.

Not sandboxed: `workflows.tickets` imports this through `imports_passed_through()`, so it is
compiled and imported once per worker instead of once per workflow run (the sandbox re-executes
the modules it does not pass through, and compiling this logic was most of the cost of starting a
ticket). The rules of workflow code apply all the same: time from `workflow.now()`, ids from
`workflow.uuid4()`, no I/O, no module state.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_options, sla
from workflows.search_attributes import (
    ASSIGNED_GROUP,
    CUSTOMER_ID,
    PRIORITY,
    SLA_STATE,
    TICKET_STATUS,
)
from workflows.ticket_lifecycle import TicketLifecycle
from workflows.ticket_messages import (
    INVALID_REFERENCE,
    RECORD_TICKET_CHANGE,
    Attachment,
    Author,
    EventRecord,
    MessageRecord,
    OpenTicket,
    Projection,
    SlaPolicySnapshot,
    TicketChange,
    TicketView,
)
from workflows.ticket_notices import TicketNotices
from workflows.ticket_sla import TicketSla
from workflows.ticket_state import TicketState

# How a write the database refused reaches the workflow: a local activity's non-retryable
# failure comes as the ApplicationError itself, a regular activity's wrapped in an ActivityError.
# (Retryable failures never come: the activities retry until the database is back.)
REFUSED_WRITE = (ActivityError, ApplicationError)

# Continue as new well before Temporal's limits (50k events / 50 MB): a ticket with thousands of
# messages keeps a short history. The server's own suggestion comes first when it is earlier.
MAX_HISTORY_EVENTS = 8_000
# Request ids remembered across continue-as-new, so a retried update is applied once.
REMEMBERED_REQUESTS = 200


def refuse(message: str, kind: str) -> ApplicationError:
    """A refusal the caller sees (`api.tickets.TicketRefused` turns `kind` into words)."""
    return ApplicationError(message, type=kind, non_retryable=True)


class TicketProcess(TicketLifecycle, TicketNotices):
    def __init__(self, request: OpenTicket, carried: TicketState | None = None) -> None:
        self._request = request
        self._state = carried or TicketState(
            ticket_id=request.ticket_id,
            customer_id=request.customer_id,
            requester_id=request.requester.user_id,
            subject=request.subject,
            channel=request.channel,
            locale=request.locale,
            priority=request.priority,
            category_id=request.category_id,
            tags=sorted(set(request.tags)),
        )
        self._sla = TicketSla()
        self._lock = asyncio.Lock()
        self._changed = False
        self._sending: set[asyncio.Task[None]] = set()
        self._published: tuple[str, ...] = ()
        # True once the opening is on record, assigned and its SLA armed (`opened` waits for it).
        self._settled = carried is not None
        self._refused: ApplicationError | None = None

    async def _live(self, request: OpenTicket, carried: TicketState | None) -> str:
        """The run: open (first run only), then sleep until the next timer or change, act, and
        end once closed beyond the reopen window or continue as new when the history is long."""
        await self._hand_over_notices()
        if carried is None:
            async with self._lock:
                try:
                    await self._open(request, workflow.now())
                    await self._queue_notices()
                except REFUSED_WRITE as failed:
                    self._refused = refuse(f"Cannot open the ticket: {failed}",
                                            INVALID_REFERENCE)  # fmt: skip
            self._settled = True
            if self._refused:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return "refused"
        while True:
            async with self._lock:
                finished = await self._on_timers(workflow.now())
                await self._queue_notices()
            if finished:
                # Handlers and emails finish before the run ends: callers and customers wait.
                await workflow.wait_condition(lambda: self._quiet() and not self._sending)
                return self._state.status
            if self._history_is_long():
                # Handlers finish before the run hands over (their callers wait for answers);
                # unsent notifications travel in the state.
                await workflow.wait_condition(self._quiet)
                workflow.continue_as_new(args=[self._request_for_next_run(), self._state])
            now = workflow.now()
            wake = self._next_timer(now)
            self._changed = False
            # At least a second: a timer must have a length, and nothing here is that urgent.
            timeout = None if wake is None else max((wake - now).total_seconds(), 1.0)
            with contextlib.suppress(TimeoutError):  # a timer fell due
                await workflow.wait_condition(
                    lambda: self._changed or self._history_is_long(), timeout=timeout
                )

    async def _opened(self) -> TicketView:
        await workflow.wait_condition(lambda: self._settled)
        if self._refused:
            raise self._refused
        return self._view()

    def _quiet(self) -> bool:
        return workflow.all_handlers_finished() and not self._lock.locked()

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > MAX_HISTORY_EVENTS
        )

    def _request_for_next_run(self) -> OpenTicket:
        # The opening message is on record already; the next run needs only who and what.
        return replace(self._request, body="", attachments=[])

    async def _apply(self, request_id: str, change: Callable[[datetime], Awaitable[None]]):
        """Run one change under the lock, once per request id. If a write is refused for its
        data, the state goes back to what it was and the caller gets the refusal."""
        async with self._lock:
            if not self._seen(request_id):
                saved = copy.deepcopy(self._state)
                self._remember(request_id)
                try:
                    await change(workflow.now())
                    await self._queue_notices()
                except REFUSED_WRITE as failed:
                    self._state = saved
                    workflow.logger.warning("ticket change refused: %s", failed)
                    raise refuse("The change refers to something that does not exist.",
                                  INVALID_REFERENCE) from failed  # fmt: skip
        return self._view()

    def _event(
        self, kind: str, actor: Author, data: dict[str, object], *, key: str | None = None
    ) -> EventRecord:
        # A request id names the change; otherwise a fresh deterministic uuid does.
        event_id = str(workflow.uuid4()) if key is None else key
        return EventRecord(event_id, kind, actor, data)

    async def _write(
        self,
        now: datetime,
        *,
        message: MessageRecord | None = None,
        events: list[EventRecord] | None = None,
        add_watchers: list[str] | None = None,
        remove_watchers: list[str] | None = None,
    ) -> None:
        state = self._state
        self._sla.settle(state, now)
        state.seq += 1
        notices = self._notices_to_write()
        await workflow.execute_local_activity(
            RECORD_TICKET_CHANGE,
            TicketChange(
                ticket_id=state.ticket_id,
                projection=self._projection(now),
                at=now,
                message=message,
                events=events or [],
                add_watcher_ids=add_watchers or [],
                remove_watcher_ids=remove_watchers or [],
                notices=notices,
            ),
            **activity_options.LOCAL_DATABASE,
        )
        self._notices_written(notices)
        self._publish(now)
        self._changed = True

    async def _write_and_notify(
        self, now: datetime, notify: Callable[[], None], **write: Any
    ) -> None:
        """A change's write and the notifications it causes. Since WRITES_QUEUE_NOTICES the
        notices are made first and the write queues them (one local activity); before it, the
        write came first and each notice was sent in the background after it."""
        if self._notices_in_outbox():
            notify()
            await self._write(now, **write)
        else:
            await self._write(now, **write)
            notify()

    def _projection(self, now: datetime) -> Projection:
        state = self._state
        deadlines = self._sla.deadlines(state)
        return Projection(
            seq=state.seq,
            status=state.status,
            priority=state.priority,
            category_id=state.category_id,
            group_id=state.group_id,
            assignee_id=state.assignee_id,
            tags=state.tags,
            sla_policy_id=_policy_id(state.policy),
            sla_state=sla.sla_state(deadlines, now),
            sla_paused=bool(state.clock and state.clock.paused),
            first_response_due=deadlines.first_response,
            next_response_due=deadlines.next_response,
            resolution_due=deadlines.resolution,
            escalation_level=state.escalation_level,
            first_responded_at=state.first_responded_at,
            last_customer_message_at=state.last_customer_message_at,
            last_agent_message_at=state.last_agent_message_at,
            resolved_at=state.resolved_at,
            closed_at=state.closed_at,
            merged_into_id=state.merged_into_id,
            message_count=state.message_count,
            updated_at=now,
            customer_id=state.customer_id,
            requester_id=state.requester_id,
        )

    def _publish(self, now: datetime) -> None:
        """Search attributes for operators in the Temporal UI, upserted only when they change
        (each upsert is a history event)."""
        state = self._state
        values = (
            state.customer_id, state.status, state.priority, self._sla.state_at(state, now),
            state.group_id or "",
        )  # fmt: skip
        if values == self._published:
            return
        self._published = values
        workflow.upsert_search_attributes(
            [
                CUSTOMER_ID.value_set(values[0]),
                TICKET_STATUS.value_set(values[1]),
                PRIORITY.value_set(values[2]),
                SLA_STATE.value_set(values[3]),
                ASSIGNED_GROUP.value_set(values[4]),
            ]
        )

    def _seen(self, request_id: str) -> bool:
        """A request already applied (a retry, possibly from before a continue-as-new, which
        Temporal's own update-id deduplication does not span). For validators: no side effect."""
        return request_id in self._state.recent_requests

    def _remember(self, request_id: str) -> None:
        recent = self._state.recent_requests
        recent.append(request_id)
        del recent[:-REMEMBERED_REQUESTS]

    def _require_body(self, body: str, attachments: list[Attachment]) -> None:
        if not body.strip() and not attachments:
            raise refuse("The message is empty.", "EmptyMessage")

    def _require_staff(self, author: Author) -> None:
        if author.kind == "customer":
            raise refuse("Only staff can do this.", "NotAllowed")

    def _require_open(self) -> None:
        if self._state.status == "closed":
            raise refuse("This ticket is closed.", "TicketClosed")

    def _view(self) -> TicketView:
        state = self._state
        deadlines = self._sla.deadlines(state)
        return TicketView(
            ticket_id=state.ticket_id,
            number=state.number,
            status=state.status,
            priority=state.priority,
            category_id=state.category_id,
            group_id=state.group_id,
            assignee_id=state.assignee_id,
            tags=state.tags,
            watcher_ids=state.watcher_ids,
            sla_state=sla.sla_state(deadlines, workflow.now()),
            sla_paused=bool(state.clock and state.clock.paused),
            first_response_due=deadlines.first_response,
            next_response_due=deadlines.next_response,
            resolution_due=deadlines.resolution,
            escalation_level=state.escalation_level,
            message_count=state.message_count,
            merged_into_id=state.merged_into_id,
            reopen_until=self._reopen_until() if state.closed_at else None,
        )


def _policy_id(policy: SlaPolicySnapshot | None) -> str | None:
    return policy.policy_id if policy else None
