"""TicketWorkflow: one ticket's life, from opening to closing, with its SLA clocks, escalations and
automation timers. Id `ticket-{uuid}`.

The workflow decides; activities write (`activities/tickets.py`). Every change bumps `seq` and
writes the whole projection with it, so a retried write never undoes a newer one and the
`tickets` row always ends up equal to the workflow's state. Every mutating path (updates, signals,
timers) runs under one lock: activities interleave, decisions do not. A change whose write is
refused for its data (a reference to a group that does not exist, say) puts the state back as it
was and answers the update with a refusal: nothing is half-written.

Timers: the main loop sleeps until the earliest of the SLA's next warning, deadline or
escalation level (`workflows.ticket_sla`), the waiting-on-customer reminder and auto-close, the
resolved auto-close, and the end of the reopen window of a closed ticket (then the run ends). Any
change wakes it to recompute. Before the history grows long the run continues as new, carrying
`TicketState` whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_options
from workflows.outbound_email import SEND_EMAIL, EmailDelivery
from workflows.search_attributes import (
    ASSIGNED_GROUP,
    CUSTOMER_ID,
    PRIORITY,
    SLA_STATE,
    TICKET_STATUS,
)
from workflows.ticket_messages import (
    SYSTEM,
    AddNote,
    Assign,
    Assignment,
    Attachment,
    Author,
    AutoAssign,
    EventRecord,
    Merge,
    MergedIn,
    MessageRecord,
    MovedRecords,
    MoveRecords,
    NewTicketRecord,
    NotificationRequest,
    Notifications,
    OpenTicket,
    PolicyChoice,
    PolicyQuery,
    Projection,
    Reopen,
    Reply,
    Routing,
    RoutingQuery,
    SetCategory,
    SetPriority,
    SetStatus,
    SetTags,
    SlaPolicySnapshot,
    TicketChange,
    TicketOpened,
    TicketView,
    Watch,
)

with workflow.unsafe.imports_passed_through():
    # Passed through: the sandbox's restricted zoneinfo breaks the calendar (see its docstring).
    from workflows import sla, ticket_rules
    from workflows.ticket_sla import SlaEvent, TicketSla
    from workflows.ticket_state import TicketState

ROUTE_TICKET = "route_ticket"
CHOOSE_SLA_POLICY = "choose_sla_policy"
RECORD_TICKET_OPENED = "record_ticket_opened"
AUTO_ASSIGN = "auto_assign"
RECORD_TICKET_CHANGE = "record_ticket_change"
MOVE_TICKET_RECORDS = "move_ticket_records"
PLAN_TICKET_NOTIFICATIONS = "plan_ticket_notifications"
# The refusal type activities raise (non-retryable) when the data itself cannot be written.
INVALID_REFERENCE = "InvalidReference"

# How a write the database refused reaches the workflow: a local activity's non-retryable
# failure comes as the ApplicationError itself, a regular activity's wrapped in an ActivityError.
# (Retryable failures never come: the activities retry until the database is back.)
REFUSED_WRITE = (ActivityError, ApplicationError)

# Continue as new well before Temporal's limits (50k events / 50 MB): a ticket with thousands of
# messages keeps a short history. The server's own suggestion comes first when it is earlier.
MAX_HISTORY_EVENTS = 8_000
# Request ids remembered across continue-as-new, so a retried update is applied once.
REMEMBERED_REQUESTS = 200
TAG_LIMIT = 20
TAG_LENGTH = 40  # the column's width


def workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


def _refuse(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn
class TicketWorkflow:
    @workflow.init
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

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, request: OpenTicket, carried: TicketState | None = None) -> str:
        for notice in self._state.pending_notices:  # handed over by the previous run
            self._start_sending(notice)
        if carried is None:
            async with self._lock:
                try:
                    await self._open(request, workflow.now())
                except REFUSED_WRITE as failed:
                    self._refused = _refuse(f"Cannot open the ticket: {failed}",
                                            INVALID_REFERENCE)  # fmt: skip
            self._settled = True
            if self._refused:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return "refused"
        while True:
            async with self._lock:
                finished = await self._on_timers(workflow.now())
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

    async def _open(self, request: OpenTicket, now: datetime) -> None:
        state = self._state
        state.opened_at = now
        routing = await workflow.execute_local_activity(
            ROUTE_TICKET, RoutingQuery(request.category_id, request.group_id),
            result_type=Routing, **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        state.group_id = routing.group_id
        state.automation = routing.automation
        state.assignee_id = request.assignee_id
        state.policy = await self._choose_policy()
        state.clock = sla.start_clock(now)
        state.last_customer_message_at = now if request.requester.kind == "customer" else None
        state.message_count = 1
        state.watcher_ids = [request.requester.user_id] if request.requester.user_id else []
        opened = await workflow.execute_local_activity(
            RECORD_TICKET_OPENED,
            NewTicketRecord(
                request=request,
                group_id=state.group_id,
                sla_policy_id=state.policy.policy_id if state.policy else None,
                opened_at=now,
                event_id=str(workflow.uuid4()),
            ),
            result_type=TicketOpened,
            **activity_options.LOCAL_DATABASE,
        )
        state.number = opened.number
        state.seq = 1
        if state.assignee_id is None and state.group_id is not None:
            state.seq += 1
            assignment = await workflow.execute_local_activity(
                AUTO_ASSIGN,
                AutoAssign(state.ticket_id, state.group_id, str(workflow.uuid4()), state.seq, now),
                result_type=Assignment,
                **activity_options.LOCAL_DATABASE,
            )
            state.assignee_id = assignment.assignee_id
        await self._write(
            now, events=[self._event("sla_started", SYSTEM, self._sla.summary(state))]
        )
        if request.requester.kind == "customer":
            self._notify("opened", actor=request.requester, message_id=request.ticket_id)
        if state.assignee_id and state.assignee_id != request.requester.user_id:
            self._notify("assigned", actor=request.requester, recipient_ids=[state.assignee_id])

    # ------------------------------------------------------------------ queries and updates

    @workflow.query
    def view(self) -> TicketView:
        return self._view()

    @workflow.update
    async def opened(self) -> TicketView:
        """For update-with-start: answers once the ticket is on record, with its number."""
        await workflow.wait_condition(lambda: self._settled)
        if self._refused:
            raise self._refused
        return self._view()

    @workflow.update
    async def reply(self, message: Reply) -> TicketView:
        return await self._apply(message.request_id, lambda now: self._reply(message, now))

    @reply.validator
    def _validate_reply(self, message: Reply) -> None:
        if self._seen(message.request_id):
            return
        self._require_body(message.body, message.attachments)
        if self._state.merged_into_id:
            raise _refuse("This ticket was merged into another one.", "TicketMerged")
        if message.author.kind == "agent":
            self._require_open()
            wanted = message.set_status
            if wanted and wanted not in ticket_rules.REPLY_STATUSES:
                raise _refuse(f"A reply cannot set the status {wanted}.", "InvalidTransition")
        elif self._state.status == "closed" and not self._may_reopen(workflow.now()):
            raise _refuse("This ticket is closed; write a new one.", "ReopenWindowPassed")

    @workflow.update
    async def add_note(self, note: AddNote) -> TicketView:
        return await self._apply(note.request_id, lambda now: self._add_note(note, now))

    @add_note.validator
    def _validate_add_note(self, note: AddNote) -> None:
        if self._seen(note.request_id):
            return
        self._require_staff(note.author)
        self._require_body(note.body, note.attachments)

    @workflow.update
    async def assign(self, change: Assign) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._assign(change, now))

    @assign.validator
    def _validate_assign(self, change: Assign) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()

    @workflow.update
    async def set_status(self, change: SetStatus) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_status(change, now))

    @set_status.validator
    def _validate_set_status(self, change: SetStatus) -> None:
        if self._seen(change.request_id):
            return
        if change.status not in ticket_rules.STATUSES:
            raise _refuse(f"Unknown status {change.status}.", "InvalidTransition")
        if change.status == self._state.status:
            return
        by_staff = change.author.kind != "customer"
        if not ticket_rules.may_set_status(self._state.status, change.status, by_staff=by_staff):
            raise _refuse(
                f"A ticket cannot go from {self._state.status} to {change.status}.",
                "InvalidTransition",
            )

    @workflow.update
    async def set_priority(self, change: SetPriority) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_priority(change, now))

    @set_priority.validator
    def _validate_set_priority(self, change: SetPriority) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()
        if change.priority not in ticket_rules.PRIORITIES:
            raise _refuse(f"Unknown priority {change.priority}.", "InvalidPriority")

    @workflow.update
    async def set_category(self, change: SetCategory) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._set_category(change, now))

    @set_category.validator
    def _validate_set_category(self, change: SetCategory) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()

    @workflow.update
    async def tag(self, change: SetTags) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._tag(change, now))

    @tag.validator
    def _validate_tag(self, change: SetTags) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        if len(change.applied_to(self._state.tags)) > TAG_LIMIT:
            raise _refuse(f"At most {TAG_LIMIT} tags.", "TooManyTags")
        named = [*(change.tags or []), *change.add]
        if any(not tag.strip() or len(tag) > TAG_LENGTH for tag in named):
            raise _refuse(f"A tag has 1 to {TAG_LENGTH} characters.", "InvalidTag")

    @workflow.update
    async def watch(self, change: Watch) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._watch(change, now))

    @watch.validator
    def _validate_watch(self, change: Watch) -> None:
        if self._seen(change.request_id):
            return
        if change.author.kind == "customer" and change.user_id != change.author.user_id:
            raise _refuse("Customers can only follow tickets themselves.", "NotAllowed")

    @workflow.update
    async def merge(self, change: Merge) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._merge(change, now))

    @merge.validator
    def _validate_merge(self, change: Merge) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()
        if change.into_ticket_id == self._state.ticket_id:
            raise _refuse("A ticket cannot be merged into itself.", "InvalidMerge")

    @workflow.update
    async def reopen(self, change: Reopen) -> TicketView:
        return await self._apply(change.request_id, lambda now: self._reopen_now(change, now))

    @reopen.validator
    def _validate_reopen(self, change: Reopen) -> None:
        if self._seen(change.request_id):
            return
        if self._state.merged_into_id:
            raise _refuse("This ticket was merged into another one.", "TicketMerged")
        if not ticket_rules.is_resolved(self._state.status):
            raise _refuse("Only a resolved or closed ticket can be reopened.", "InvalidTransition")
        if not self._may_reopen(workflow.now()):
            raise _refuse("The reopen window has passed; write a new ticket.", "ReopenWindowPassed")

    @workflow.signal
    async def merged_in(self, merged: MergedIn) -> None:
        key = f"{self._state.ticket_id}:merged:{merged.from_ticket_id}"

        async def take(now: datetime) -> None:
            state = self._state
            state.message_count += merged.message_count
            state.watcher_ids = sorted(set(state.watcher_ids) | set(merged.watcher_ids))
            data = {"ticket_id": merged.from_ticket_id, "number": merged.from_number}
            await self._write(now, events=[self._event("merged_from", merged.author, data)])

        # A signal has nobody to answer: a refused write is logged, never raised.
        with contextlib.suppress(ApplicationError):
            await self._apply(key, take)

    # ------------------------------------------------------------------ what each update does

    async def _apply(self, request_id: str, change: Callable[[datetime], Awaitable[None]]):
        """Run one change under the lock, once per request id. If a write is refused for its
        data, the state goes back to what it was and the caller gets the refusal."""
        async with self._lock:
            if not self._seen(request_id):
                saved = copy.deepcopy(self._state)
                self._remember(request_id)
                try:
                    await change(workflow.now())
                except REFUSED_WRITE as failed:
                    self._state = saved
                    workflow.logger.warning("ticket change refused: %s", failed)
                    raise _refuse("The change refers to something that does not exist.",
                                  INVALID_REFERENCE) from failed  # fmt: skip
        return self._view()

    async def _reply(self, message: Reply, now: datetime) -> None:
        state = self._state
        state.message_count += 1
        if message.author.kind == "agent":
            assert state.clock is not None
            state.clock = sla.record_agent_reply(state.clock, now)
            state.first_responded_at = state.first_responded_at or now
            state.last_agent_message_at = now
            events = [self._event("replied", message.author, {}, key=message.request_id)]
            wanted = ticket_rules.status_after_agent_reply(state.status, message.set_status)
            events += self._move_to(wanted, now, message.author)
            channel, notice = "staff", "agent_replied"
        else:
            events = [self._event("customer_replied", message.author, {}, key=message.request_id)]
            if ticket_rules.is_resolved(state.status):
                events += self._reopen(now, message.author)
            else:
                wanted = ticket_rules.status_after_customer_message(state.status)
                events += self._move_to(wanted, now, message.author)
            assert state.clock is not None
            state.clock = sla.record_customer_message(state.clock, now)
            state.last_customer_message_at = now
            channel, notice = state.channel, "customer_replied"
        record = MessageRecord(
            message.request_id, message.author, message.body, False, channel, message.attachments
        )
        await self._write(now, message=record, events=events)
        self._notify(notice, actor=message.author, message_id=message.request_id)

    async def _add_note(self, note: AddNote, now: datetime) -> None:
        record = MessageRecord(
            note.request_id, note.author, note.body, True, "staff", note.attachments
        )
        event = self._event("note_added", note.author, {}, key=note.request_id)
        await self._write(now, message=record, events=[event])
        mentioned = [i for i in note.mentioned_ids if i != note.author.user_id]
        if mentioned:
            self._notify(
                "mentioned", actor=note.author, message_id=note.request_id, recipient_ids=mentioned
            )

    async def _assign(self, change: Assign, now: datetime) -> None:
        state = self._state
        before = {"group_id": state.group_id, "assignee_id": state.assignee_id}
        group_id = state.group_id if change.keep_group else change.group_id
        if group_id and group_id != state.group_id:
            # The ticket now follows its new group's automation periods.
            routing = await workflow.execute_local_activity(
                ROUTE_TICKET, RoutingQuery(None, group_id), result_type=Routing,
                **activity_options.LOCAL_DATABASE,
            )  # fmt: skip
            if routing.group_id == group_id:
                state.automation = routing.automation
        state.group_id = group_id
        state.assignee_id = change.assignee_id
        after = {"group_id": state.group_id, "assignee_id": state.assignee_id}
        data: dict[str, object] = {"before": before, "after": after}
        await self._write(now, events=[self._event("assigned", change.author, data,
                                                   key=change.request_id)])  # fmt: skip
        if change.assignee_id and change.assignee_id != change.author.user_id:
            self._notify("assigned", actor=change.author, recipient_ids=[change.assignee_id])

    async def _set_status(self, change: SetStatus, now: datetime) -> None:
        events = self._move_to(change.status, now, change.author, key=change.request_id)
        if not events:
            return  # already there
        await self._write(now, events=events)
        if change.author.kind != "customer":
            self._notify("status_changed", actor=change.author, data={"status": change.status})

    async def _set_priority(self, change: SetPriority, now: datetime) -> None:
        data = {"before": self._state.priority, "after": change.priority}
        self._state.priority = change.priority
        events = [self._event("priority_changed", change.author, data, key=change.request_id)]
        # Another priority may fall under another SLA policy, as in every helpdesk.
        await self._write(now, events=events + await self._reselect_policy(change.author))

    async def _set_category(self, change: SetCategory, now: datetime) -> None:
        data = {"before": self._state.category_id, "after": change.category_id}
        self._state.category_id = change.category_id
        events = [self._event("category_changed", change.author, data, key=change.request_id)]
        await self._write(now, events=events + await self._reselect_policy(change.author))

    async def _tag(self, change: SetTags, now: datetime) -> None:
        after = change.applied_to(self._state.tags)
        if after == self._state.tags:
            return  # nothing to add or take out
        data: dict[str, object] = {"before": self._state.tags, "after": after}
        self._state.tags = after
        await self._write(
            now, events=[self._event("tags_changed", change.author, data, key=change.request_id)]
        )

    async def _watch(self, change: Watch, now: datetime) -> None:
        watchers = set(self._state.watcher_ids)
        (watchers.add if change.watching else watchers.discard)(change.user_id)
        self._state.watcher_ids = sorted(watchers)
        kind = "watching" if change.watching else "unwatching"
        await self._write(
            now,
            events=[self._event(kind, change.author, {"user_id": change.user_id},
                                key=change.request_id)],
            add_watchers=[change.user_id] if change.watching else [],
            remove_watchers=[] if change.watching else [change.user_id],
        )  # fmt: skip

    async def _merge(self, change: Merge, now: datetime) -> None:
        """The application service has checked that the target is the same customer's and still
        open. Records move first (idempotently), then the target is told, then this one closes."""
        state = self._state
        moved = await workflow.execute_local_activity(
            MOVE_TICKET_RECORDS, MoveRecords(state.ticket_id, change.into_ticket_id),
            result_type=MovedRecords, **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        target = workflow.get_external_workflow_handle_for(
            TicketWorkflow.run, workflow_id(change.into_ticket_id)
        )
        await target.signal(
            TicketWorkflow.merged_in,
            MergedIn(state.ticket_id, state.number, state.message_count, moved.watcher_ids,
                     change.author),
        )  # fmt: skip
        state.merged_into_id = change.into_ticket_id
        data = {"ticket_id": change.into_ticket_id, "number": change.into_number}
        events = [self._event("merged_into", change.author, data, key=change.request_id)]
        await self._write(now, events=events + self._move_to("closed", now, change.author))

    async def _reopen_now(self, change: Reopen, now: datetime) -> None:
        await self._write(now, events=self._reopen(now, change.author, change.request_id))

    async def _reselect_policy(self, actor: Author) -> list[EventRecord]:
        before = self._state.policy
        self._state.policy = await self._choose_policy()
        if _policy_id(before) == _policy_id(self._state.policy):
            return []
        return [self._event("sla_policy_changed", actor, self._sla.summary(self._state))]

    async def _choose_policy(self) -> SlaPolicySnapshot | None:
        state = self._state
        choice = await workflow.execute_local_activity(
            CHOOSE_SLA_POLICY, PolicyQuery(state.customer_id, state.priority, state.category_id),
            result_type=PolicyChoice, **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        return choice.policy

    # ------------------------------------------------------------------ status

    def _move_to(
        self, status: str, now: datetime, actor: Author, *, key: str | None = None
    ) -> list[EventRecord]:
        """Apply a status change to the state and the clock; return its timeline events."""
        state = self._state
        before = state.status
        if status == before:
            return []
        if ticket_rules.is_resolved(before) and not ticket_rules.is_resolved(status):
            events = self._reopen(now, actor, key)
            return events + (self._move_to(status, now, actor) if status != "open" else [])
        state.status = status
        self._sla.move_clock(state, before, status, now)
        state.waiting_since = now if status == "waiting_on_customer" else None
        state.reminded_waiting = False
        if status == "resolved":
            state.resolved_at = now
        if status == "closed":
            state.closed_at = now
            state.resolved_at = state.resolved_at or now
        return [self._event("status_changed", actor, {"before": before, "after": status}, key=key)]

    def _reopen(self, now: datetime, actor: Author, key: str | None = None) -> list[EventRecord]:
        state = self._state
        before = state.status
        state.status = "open"
        state.resolved_at = None
        state.closed_at = None
        state.waiting_since = None
        state.clock = sla.reopened(now)
        state.breached_at = None
        state.warned_for = None
        state.escalation_level = 0
        return [self._event("reopened", actor, {"before": before}, key=key)]

    def _may_reopen(self, now: datetime) -> bool:
        state = self._state
        if state.status != "closed":
            return True
        return state.closed_at is None or now <= self._reopen_until()

    def _reopen_until(self) -> datetime:
        assert self._state.closed_at is not None
        if self._state.merged_into_id:
            return self._state.closed_at  # a merged ticket lives on in the other one
        return self._state.closed_at + timedelta(days=self._state.automation.reopen_window_days)

    # ------------------------------------------------------------------ timers

    def _next_timer(self, now: datetime) -> datetime | None:
        """The earliest instant strictly after `now` at which `_on_timers` has work."""
        state = self._state
        automation = state.automation
        instants = [self._sla.next_instant(state, now)]
        if state.status == "waiting_on_customer" and state.waiting_since is not None:
            if not state.reminded_waiting:
                remind = timedelta(days=automation.remind_waiting_after_days)
                instants.append(state.waiting_since + remind)
            close = timedelta(days=automation.close_waiting_after_days)
            instants.append(state.waiting_since + close)
        if state.status == "resolved" and state.resolved_at is not None:
            instants.append(
                state.resolved_at + timedelta(days=automation.close_resolved_after_days)
            )
        if state.status == "closed" and state.closed_at is not None:
            instants.append(self._reopen_until())
        return min((i for i in instants if i is not None and i > now), default=None)

    async def _on_timers(self, now: datetime) -> bool:
        """Act on whatever fell due; True when the run is over (closed beyond its reopen window)."""
        state = self._state
        if state.status == "closed" and state.closed_at is not None:
            return now >= self._reopen_until()
        events = [self._sla_event(happened) for happened in self._sla.fall_due(state, now)]
        automation = state.automation
        if state.status == "waiting_on_customer" and state.waiting_since is not None:
            waited = now - state.waiting_since
            if waited >= timedelta(days=automation.close_waiting_after_days):
                events += self._move_to("closed", now, SYSTEM)
                events.append(self._event("auto_closed", SYSTEM, {"reason": "waiting"}))
            elif not state.reminded_waiting and waited >= timedelta(
                days=automation.remind_waiting_after_days
            ):
                state.reminded_waiting = True
                events.append(self._event("waiting_reminder_sent", SYSTEM, {}))
                self._notify("waiting_reminder", actor=SYSTEM)
        resolved_for = now - state.resolved_at if state.resolved_at else timedelta(0)
        if state.status == "resolved" and resolved_for >= timedelta(
            days=automation.close_resolved_after_days
        ):
            events += self._move_to("closed", now, SYSTEM)
            events.append(self._event("auto_closed", SYSTEM, {"reason": "resolved"}))
        if events:
            await self._write(now, events=events)
        return False

    def _sla_event(self, happened: SlaEvent) -> EventRecord:
        """The timeline event of an SLA happening, and the people it concerns told."""
        state = self._state
        assignee = [state.assignee_id] if state.assignee_id else []
        if happened.kind == "sla_warning":
            # The assignee, or the group's lead when nobody has the ticket.
            due = str(happened.data["due"])
            self._notify("sla_warning", actor=SYSTEM, recipient_ids=assignee,
                         notify_lead=not assignee, data={"due": due})  # fmt: skip
        if happened.step is not None:
            step = happened.step
            self._notify("escalated", actor=SYSTEM, recipient_ids=assignee,
                         notify_lead=step.notify_lead, notify_admins=step.notify_admins,
                         data={"level": str(step.level)})  # fmt: skip
        return self._event(happened.kind, SYSTEM, happened.data)

    # ------------------------------------------------------------------ writing and telling

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
            ),
            **activity_options.LOCAL_DATABASE,
        )
        self._publish(now)
        self._changed = True

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

    def _notify(
        self,
        kind: str,
        *,
        actor: Author,
        message_id: str | None = None,
        recipient_ids: list[str] | None = None,
        notify_lead: bool = False,
        notify_admins: bool = False,
        data: dict[str, str] | None = None,
    ) -> None:
        """Email in the background: the caller of an update does not wait for SMTP."""
        self._state.notices += 1
        request = NotificationRequest(
            ticket_id=self._state.ticket_id,
            kind=kind,  # type: ignore[arg-type]
            key=f"ticket:{self._state.ticket_id}:{self._state.notices}:{kind}",
            actor_id=actor.user_id,
            message_id=message_id,
            recipient_ids=recipient_ids or [],
            notify_lead=notify_lead,
            notify_admins=notify_admins,
            data=data or {},
        )
        self._state.pending_notices.append(request)
        self._start_sending(request)

    def _start_sending(self, request: NotificationRequest) -> None:
        task = asyncio.create_task(self._send(request))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, request: NotificationRequest) -> None:
        await self._deliver(request)
        pending = self._state.pending_notices
        pending[:] = [notice for notice in pending if notice.key != request.key]

    async def _deliver(self, request: NotificationRequest) -> None:
        plan = await workflow.execute_local_activity(
            PLAN_TICKET_NOTIFICATIONS, request, result_type=Notifications,
            **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        sends = [
            workflow.execute_activity(
                SEND_EMAIL, email, result_type=EmailDelivery, **activity_options.EMAIL
            )
            for email in plan.emails
        ]
        for outcome in await asyncio.gather(*sends, return_exceptions=True):
            # A refused or never-accepted email is on its outbox row (and the timeline); it must
            # not fail the ticket.
            if isinstance(outcome, ActivityError):
                workflow.logger.warning("ticket notification not delivered: %s", outcome)

    # ------------------------------------------------------------------ helpers

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
            raise _refuse("The message is empty.", "EmptyMessage")

    def _require_staff(self, author: Author) -> None:
        if author.kind == "customer":
            raise _refuse("Only staff can do this.", "NotAllowed")

    def _require_open(self) -> None:
        if self._state.status == "closed":
            raise _refuse("This ticket is closed.", "TicketClosed")

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
