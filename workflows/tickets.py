"""TicketWorkflow: one ticket's life, from opening to closing, with its SLA clocks, escalations and
automation timers. Id `ticket-{uuid}`.

The workflow decides; activities write (`activities/tickets.py`). Every change bumps `seq` and
writes the whole projection with it, so a retried write never undoes a newer one and the
`tickets` row always ends up equal to the workflow's state. Every mutating path (updates, signals,
timers) runs under one lock: activities interleave, decisions do not.

Timers: the main loop sleeps until the earliest of the SLA's next warning or deadline, the next
escalation level, the waiting-on-customer reminder and auto-close, the resolved auto-close, and the
end of the reopen window of a closed ticket (then the run ends). Any change wakes it to recompute.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

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
    GroupAutomation,
    InboundEmail,
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
    from workflows.business_calendar import BusinessCalendar

ROUTE_TICKET = "route_ticket"
CHOOSE_SLA_POLICY = "choose_sla_policy"
RECORD_TICKET_OPENED = "record_ticket_opened"
AUTO_ASSIGN = "auto_assign"
RECORD_TICKET_CHANGE = "record_ticket_change"
MOVE_TICKET_RECORDS = "move_ticket_records"
PLAN_TICKET_NOTIFICATIONS = "plan_ticket_notifications"

# Continue as new well before Temporal's limits (50k events / 50 MB): a ticket with thousands of
# messages keeps a short history. The server's own suggestion comes first when it is earlier.
MAX_HISTORY_EVENTS = 8_000
# Request ids remembered across continue-as-new, so a retried update is applied once.
REMEMBERED_REQUESTS = 200
TAG_LIMIT = 20


def workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


@dataclass
class TicketState:
    """Everything the workflow knows, carried whole through continue-as-new."""

    ticket_id: str
    customer_id: str
    requester_id: str | None
    subject: str
    channel: str
    locale: str
    status: str = "open"
    priority: str = "medium"
    category_id: str | None = None
    group_id: str | None = None
    assignee_id: str | None = None
    tags: list[str] = field(default_factory=list)
    watcher_ids: list[str] = field(default_factory=list)
    number: str = ""
    opened_at: datetime | None = None
    automation: GroupAutomation = field(default_factory=GroupAutomation)
    policy: SlaPolicySnapshot | None = None
    clock: sla.SlaClock | None = None
    escalation_level: int = 0
    breached_at: datetime | None = None
    warned_for: datetime | None = None
    seq: int = 0
    first_responded_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_agent_message_at: datetime | None = None
    waiting_since: datetime | None = None
    reminded_waiting: bool = False
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into_id: str | None = None
    message_count: int = 0
    # Numbers each notification, for its emails' idempotency keys.
    notices: int = 0
    recent_requests: list[str] = field(default_factory=list)


def _refuse(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _calendar(policy: SlaPolicySnapshot) -> BusinessCalendar:
    snapshot = policy.calendar
    return BusinessCalendar(
        time_zone=snapshot.time_zone,
        working_days=frozenset(snapshot.working_days),
        hours=tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in snapshot.hours),
        holidays=frozenset(snapshot.holidays),
    )


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _targets(policy: SlaPolicySnapshot) -> sla.SlaTargets:
    return sla.SlaTargets(
        first_response=_minutes(policy.first_response_minutes),
        next_response=_minutes(policy.next_response_minutes),
        resolution=_minutes(policy.resolution_minutes),
        warning_before=timedelta(minutes=policy.warning_minutes),
    )


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
            tags=list(request.tags),
        )
        self._lock = asyncio.Lock()
        self._changed = False
        self._sending: set[asyncio.Task[None]] = set()
        self._calendar_cache: tuple[str, BusinessCalendar] | None = None
        self._published: tuple[str, ...] = ()
        # True once the opening is on record, assigned and its SLA armed (`opened` waits for it).
        self._settled = carried is not None

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, request: OpenTicket, carried: TicketState | None = None) -> str:
        if carried is None:
            async with self._lock:
                await self._open(request)
            self._settled = True
        while True:
            now = workflow.now()
            wake = self._next_timer(now)
            if wake is None or wake > now:
                self._changed = False
                timeout = None if wake is None else (wake - now).total_seconds()
                with contextlib.suppress(TimeoutError):  # a timer fell due
                    await workflow.wait_condition(
                        lambda: self._changed or self._history_is_long(), timeout=timeout
                    )
            async with self._lock:
                finished = await self._on_timers()
            if finished:
                await workflow.wait_condition(self._quiet)
                return self._state.status
            if self._history_is_long():
                # Handlers must finish before the run hands over: their callers wait for answers.
                await workflow.wait_condition(self._quiet)
                workflow.continue_as_new(args=[self._request_for_next_run(), self._state])

    def _quiet(self) -> bool:
        return workflow.all_handlers_finished() and not self._sending and not self._lock.locked()

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > MAX_HISTORY_EVENTS
        )

    def _request_for_next_run(self) -> OpenTicket:
        # The opening message is on record already; the next run needs only who and what.
        return replace(self._request, body="", attachments=[])

    async def _open(self, request: OpenTicket) -> None:
        state = self._state
        now = workflow.now()
        state.opened_at = now
        routing = await workflow.execute_activity(
            ROUTE_TICKET,
            RoutingQuery(request.category_id, request.group_id),
            result_type=Routing,
            **activity_options.DATABASE,
        )
        state.group_id = routing.group_id
        state.automation = routing.automation
        state.assignee_id = request.assignee_id
        state.policy = await self._choose_policy()
        state.clock = sla.start_clock(now)
        state.last_customer_message_at = now if request.requester.kind == "customer" else None
        state.message_count = 1
        state.watcher_ids = [request.requester.user_id] if request.requester.user_id else []
        opened = await workflow.execute_activity(
            RECORD_TICKET_OPENED,
            NewTicketRecord(
                request=request,
                group_id=state.group_id,
                sla_policy_id=state.policy.policy_id if state.policy else None,
                opened_at=now,
                event_id=str(workflow.uuid4()),
            ),
            result_type=TicketOpened,
            **activity_options.DATABASE,
        )
        state.number = opened.number
        state.seq = 1
        if state.assignee_id is None and state.group_id is not None:
            state.seq += 1
            assignment = await workflow.execute_activity(
                AUTO_ASSIGN,
                AutoAssign(state.ticket_id, state.group_id, str(workflow.uuid4()), state.seq),
                result_type=Assignment,
                **activity_options.DATABASE,
            )
            state.assignee_id = assignment.assignee_id
        await self._write(now, events=[self._event("sla_started", SYSTEM, self._sla_data())])
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
        return self._view()

    @workflow.update
    async def reply(self, message: Reply) -> TicketView:
        async with self._lock:
            if self._replayed(message.request_id):
                return self._view()
            state = self._state
            now = workflow.now()
            if message.author.kind == "agent":
                await self._agent_reply(message, now)
            else:
                await self._customer_message(message, now)
            state.message_count += 1
        return self._view()

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
        async with self._lock:
            if self._replayed(note.request_id):
                return self._view()
            now = workflow.now()
            await self._write(
                now,
                message=MessageRecord(
                    note.request_id, note.author, note.body, True, "staff", note.attachments
                ),
                events=[self._event("note_added", note.author, {}, key=note.request_id)],
            )
            mentioned = [i for i in note.mentioned_ids if i != note.author.user_id]
            if mentioned:
                self._notify(
                    "mentioned", actor=note.author, message_id=note.request_id,
                    recipient_ids=mentioned,
                )  # fmt: skip
        return self._view()

    @add_note.validator
    def _validate_add_note(self, note: AddNote) -> None:
        if self._seen(note.request_id):
            return
        self._require_staff(note.author)
        self._require_body(note.body, note.attachments)

    @workflow.update
    async def assign(self, change: Assign) -> TicketView:
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            state = self._state
            before = {"group_id": state.group_id, "assignee_id": state.assignee_id}
            state.group_id = change.group_id
            state.assignee_id = change.assignee_id
            after = {"group_id": state.group_id, "assignee_id": state.assignee_id}
            await self._write(
                workflow.now(),
                events=[self._event("assigned", change.author, {"before": before, "after": after},
                                    key=change.request_id)],
            )  # fmt: skip
            if change.assignee_id and change.assignee_id != change.author.user_id:
                self._notify("assigned", actor=change.author, recipient_ids=[change.assignee_id])
        return self._view()

    @assign.validator
    def _validate_assign(self, change: Assign) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()

    @workflow.update
    async def set_status(self, change: SetStatus) -> TicketView:
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            now = workflow.now()
            events = self._move_to(change.status, now, change.author, key=change.request_id)
            await self._write(now, events=events)
            if change.author.kind != "customer":
                self._notify("status_changed", actor=change.author, data={"status": change.status})
        return self._view()

    @set_status.validator
    def _validate_set_status(self, change: SetStatus) -> None:
        if self._seen(change.request_id):
            return
        if change.status not in ticket_rules.STATUSES:
            raise _refuse(f"Unknown status {change.status}.", "InvalidTransition")
        by_staff = change.author.kind != "customer"
        if change.status == self._state.status:
            return
        if not ticket_rules.may_set_status(self._state.status, change.status, by_staff=by_staff):
            raise _refuse(
                f"A ticket cannot go from {self._state.status} to {change.status}.",
                "InvalidTransition",
            )

    @workflow.update
    async def set_priority(self, change: SetPriority) -> TicketView:
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            before = self._state.priority
            self._state.priority = change.priority
            # Another priority may fall under another SLA policy, as in every helpdesk.
            self._state.policy = await self._choose_policy()
            await self._write(
                workflow.now(),
                events=[self._event("priority_changed", change.author,
                                    {"before": before, "after": change.priority},
                                    key=change.request_id)],
            )  # fmt: skip
        return self._view()

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
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            before = self._state.category_id
            self._state.category_id = change.category_id
            self._state.policy = await self._choose_policy()
            await self._write(
                workflow.now(),
                events=[self._event("category_changed", change.author,
                                    {"before": before, "after": change.category_id},
                                    key=change.request_id)],
            )  # fmt: skip
        return self._view()

    @set_category.validator
    def _validate_set_category(self, change: SetCategory) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()

    @workflow.update
    async def tag(self, change: SetTags) -> TicketView:
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            before = self._state.tags
            self._state.tags = sorted(set(change.tags))
            await self._write(
                workflow.now(),
                events=[self._event("tags_changed", change.author,
                                    {"before": before, "after": self._state.tags},
                                    key=change.request_id)],
            )  # fmt: skip
        return self._view()

    @tag.validator
    def _validate_tag(self, change: SetTags) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        if len(set(change.tags)) > TAG_LIMIT:
            raise _refuse(f"At most {TAG_LIMIT} tags.", "TooManyTags")

    @workflow.update
    async def watch(self, change: Watch) -> TicketView:
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            watchers = set(self._state.watcher_ids)
            (watchers.add if change.watching else watchers.discard)(change.user_id)
            self._state.watcher_ids = sorted(watchers)
            await self._write(
                workflow.now(),
                events=[self._event("watching" if change.watching else "unwatching",
                                    change.author, {"user_id": change.user_id},
                                    key=change.request_id)],
                add_watchers=[change.user_id] if change.watching else [],
                remove_watchers=[] if change.watching else [change.user_id],
            )  # fmt: skip
        return self._view()

    @watch.validator
    def _validate_watch(self, change: Watch) -> None:
        if self._seen(change.request_id):
            return
        if change.author.kind == "customer" and change.user_id != change.author.user_id:
            raise _refuse("Customers can only follow tickets themselves.", "NotAllowed")

    @workflow.update
    async def merge(self, change: Merge) -> TicketView:
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            now = workflow.now()
            moved = await workflow.execute_activity(
                MOVE_TICKET_RECORDS,
                MoveRecords(self._state.ticket_id, change.into_ticket_id),
                result_type=MovedRecords,
                **activity_options.DATABASE,
            )
            target = workflow.get_external_workflow_handle_for(
                TicketWorkflow.run, workflow_id(change.into_ticket_id)
            )
            await target.signal(
                TicketWorkflow.merged_in,
                MergedIn(
                    self._state.ticket_id, self._state.number, self._state.message_count,
                    moved.watcher_ids, change.author,
                ),
            )  # fmt: skip
            self._state.merged_into_id = change.into_ticket_id
            events = [
                self._event(
                    "merged_into",
                    change.author,
                    {"ticket_id": change.into_ticket_id, "number": change.into_number},
                    key=change.request_id,
                )
            ]
            events += self._move_to("closed", now, change.author)
            await self._write(now, events=events)
        return self._view()

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
        async with self._lock:
            if self._replayed(change.request_id):
                return self._view()
            now = workflow.now()
            await self._write(now, events=self._reopen(now, change.author, change.request_id))
        return self._view()

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
        async with self._lock:
            state = self._state
            state.message_count += merged.message_count
            state.watcher_ids = sorted(set(state.watcher_ids) | set(merged.watcher_ids))
            await self._write(
                workflow.now(),
                events=[self._event("merged_from", merged.author,
                                    {"ticket_id": merged.from_ticket_id,
                                     "number": merged.from_number},
                                    key=f"{state.ticket_id}:merged:{merged.from_ticket_id}")],
            )  # fmt: skip

    @workflow.signal
    async def inbound_email(self, mail: InboundEmail) -> None:
        """A customer's mail, threaded here by the mailbox poller (a signal: the poller cannot
        wait on updates, and what a ticket cannot take was decided before sending)."""
        async with self._lock:
            if self._replayed(mail.request_id):
                return
            now = workflow.now()
            if mail.automatic:
                await self._write(
                    now,
                    message=MessageRecord(
                        mail.request_id, mail.author, mail.body, False, "email", mail.attachments
                    ),
                    events=[self._event("auto_reply_received", mail.author, {},
                                        key=mail.request_id)],
                )  # fmt: skip
            else:
                reply = Reply(mail.request_id, mail.author, mail.body, mail.attachments)
                await self._customer_message(reply, now, channel="email")
            self._state.message_count += 1

    # ------------------------------------------------------------------ replies

    async def _agent_reply(self, message: Reply, now: datetime) -> None:
        state = self._state
        if state.clock is not None:
            state.clock = sla.record_agent_reply(state.clock, now)
        state.first_responded_at = state.first_responded_at or now
        state.last_agent_message_at = now
        events = [self._event("replied", message.author, {}, key=message.request_id)]
        wanted = ticket_rules.status_after_agent_reply(state.status, message.set_status)
        events += self._move_to(wanted, now, message.author)
        await self._write(
            now,
            message=MessageRecord(
                message.request_id, message.author, message.body, False, "staff",
                message.attachments,
            ),
            events=events,
        )  # fmt: skip
        self._notify("agent_replied", actor=message.author, message_id=message.request_id)

    async def _customer_message(
        self, message: Reply, now: datetime, channel: str | None = None
    ) -> None:
        state = self._state
        events = [self._event("customer_replied", message.author, {}, key=message.request_id)]
        if ticket_rules.is_resolved(state.status):
            events += self._reopen(now, message.author)
        else:
            events += self._move_to(
                ticket_rules.status_after_customer_message(state.status), now, message.author
            )
        if state.clock is not None:
            state.clock = sla.record_customer_message(state.clock, now)
        state.last_customer_message_at = now
        await self._write(
            now,
            message=MessageRecord(
                message.request_id, message.author, message.body, False,
                channel or self._state.channel, message.attachments,
            ),
            events=events,
        )  # fmt: skip
        self._notify("customer_replied", actor=message.author, message_id=message.request_id)

    # ------------------------------------------------------------------ status and SLA

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
        clock = state.clock
        if clock is not None:
            if ticket_rules.is_paused(status):
                clock = sla.pause(clock, now)
            elif ticket_rules.is_paused(before) and not ticket_rules.is_resolved(status):
                clock = sla.resume(clock, self._calendar(), now) if state.policy else clock
            if ticket_rules.is_resolved(status):
                clock = sla.resolve(clock, now)
            state.clock = clock
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
        return self._state.closed_at + timedelta(days=self._state.automation.reopen_window_days)

    def _calendar(self) -> BusinessCalendar:
        policy = self._state.policy
        assert policy is not None
        if self._calendar_cache is None or self._calendar_cache[0] != policy.policy_id:
            self._calendar_cache = (policy.policy_id, _calendar(policy))
        return self._calendar_cache[1]

    def _deadlines(self) -> sla.Deadlines:
        state = self._state
        if state.policy is None or state.clock is None:
            return sla.Deadlines()
        return sla.deadlines(state.clock, self._calendar(), _targets(state.policy))

    def _warning_before(self) -> timedelta:
        policy = self._state.policy
        return timedelta(minutes=policy.warning_minutes) if policy else timedelta(0)

    def _sla_state(self, now: datetime) -> str:
        return sla.sla_state(self._deadlines(), now, self._warning_before())

    async def _choose_policy(self) -> SlaPolicySnapshot | None:
        state = self._state
        choice = await workflow.execute_activity(
            CHOOSE_SLA_POLICY,
            PolicyQuery(state.customer_id, state.priority, state.category_id),
            result_type=PolicyChoice,
            **activity_options.DATABASE,
        )
        return choice.policy

    # ------------------------------------------------------------------ timers

    def _next_timer(self, now: datetime) -> datetime | None:
        state = self._state
        instants: list[datetime] = []
        wake = sla.next_wake_up(self._deadlines(), self._warning_before(), now)
        if wake is not None:
            instants.append(wake)
        step = self._next_escalation()
        if step is not None and state.breached_at is not None:
            instants.append(state.breached_at + timedelta(minutes=step.after_minutes))
        automation = state.automation
        if state.status == "waiting_on_customer" and state.waiting_since is not None:
            if not state.reminded_waiting:
                instants.append(
                    state.waiting_since + timedelta(days=automation.remind_waiting_after_days)
                )
            instants.append(
                state.waiting_since + timedelta(days=automation.close_waiting_after_days)
            )
        if state.status == "resolved" and state.resolved_at is not None:
            instants.append(
                state.resolved_at + timedelta(days=automation.close_resolved_after_days)
            )
        if state.status == "closed" and state.closed_at is not None:
            instants.append(self._reopen_until())
        return min(instants, default=None)

    def _next_escalation(self):
        policy = self._state.policy
        if policy is None:
            return None
        steps = sorted(policy.escalation, key=lambda s: s.level)
        return next((s for s in steps if s.level > self._state.escalation_level), None)

    async def _on_timers(self) -> bool:
        """Act on whatever fell due; True when the run is over (closed beyond its reopen window)."""
        state = self._state
        now = workflow.now()
        events: list[EventRecord] = []
        if state.status == "closed" and state.closed_at is not None:
            return now >= self._reopen_until()
        events += self._sla_timers(now)
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
        if (
            state.status == "resolved"
            and state.resolved_at is not None
            and now - state.resolved_at >= timedelta(days=automation.close_resolved_after_days)
        ):
            events += self._move_to("closed", now, SYSTEM)
            events.append(self._event("auto_closed", SYSTEM, {"reason": "resolved"}))
        if events:
            await self._write(now, events=events)
        return False

    def _sla_timers(self, now: datetime) -> list[EventRecord]:
        state = self._state
        deadlines = self._deadlines()
        current = sla.sla_state(deadlines, now, self._warning_before())
        events: list[EventRecord] = []
        if current == "ok":
            state.breached_at = None
            state.escalation_level = 0
            return events
        nearest = min(deadlines.open())
        if current == "at_risk" and state.warned_for != nearest:
            state.warned_for = nearest
            events.append(self._event("sla_warning", SYSTEM, {"due": nearest.isoformat()}))
            recipients = [state.assignee_id] if state.assignee_id else []
            self._notify(
                "sla_warning", actor=SYSTEM, recipient_ids=recipients, notify_lead=not recipients,
                data={"due": nearest.isoformat()},
            )  # fmt: skip
        if current == "breached":
            if state.breached_at is None:
                state.breached_at = nearest
                events.append(self._event("sla_breached", SYSTEM, self._sla_data()))
            step = self._next_escalation()
            while step is not None and now >= state.breached_at + timedelta(
                minutes=step.after_minutes
            ):
                events += self._escalate(step, now)
                step = self._next_escalation()
        return events

    def _escalate(self, step, now: datetime) -> list[EventRecord]:
        state = self._state
        state.escalation_level = step.level
        data: dict[str, object] = {"level": step.level}
        if step.raise_priority:
            before = state.priority
            state.priority = ticket_rules.raised(before)
            data["priority"] = {"before": before, "after": state.priority}
        if step.reassign_group_id and step.reassign_group_id != state.group_id:
            data["group"] = {"before": state.group_id, "after": step.reassign_group_id}
            state.group_id = step.reassign_group_id
            state.assignee_id = None
        self._notify(
            "escalated", actor=SYSTEM,
            recipient_ids=[state.assignee_id] if state.assignee_id else [],
            notify_lead=step.notify_lead, notify_admins=step.notify_admins,
            data={"level": str(step.level)},
        )  # fmt: skip
        return [self._event("sla_escalated", SYSTEM, data)]

    def _sla_data(self) -> dict[str, object]:
        deadlines = self._deadlines()
        policy = self._state.policy
        return {
            "policy": policy.name if policy else None,
            "first_response_due": _iso(deadlines.first_response),
            "next_response_due": _iso(deadlines.next_response),
            "resolution_due": _iso(deadlines.resolution),
        }

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
        state.seq += 1
        await workflow.execute_activity(
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
            **activity_options.DATABASE,
        )
        self._publish(now)
        self._changed = True

    def _projection(self, now: datetime) -> Projection:
        state = self._state
        deadlines = self._deadlines()
        return Projection(
            seq=state.seq,
            status=state.status,
            priority=state.priority,
            category_id=state.category_id,
            group_id=state.group_id,
            assignee_id=state.assignee_id,
            tags=state.tags,
            sla_policy_id=state.policy.policy_id if state.policy else None,
            sla_state=self._sla_state(now),
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
            state.customer_id, state.status, state.priority, self._sla_state(now),
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
        task = asyncio.create_task(self._send(request))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, request: NotificationRequest) -> None:
        plan = await workflow.execute_activity(
            PLAN_TICKET_NOTIFICATIONS, request, result_type=Notifications,
            **activity_options.DATABASE,
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

    def _replayed(self, request_id: str) -> bool:
        """For handlers: `_seen`, and remember the request when it is new."""
        if self._seen(request_id):
            return True
        recent = self._state.recent_requests
        recent.append(request_id)
        del recent[:-REMEMBERED_REQUESTS]
        return False

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
        deadlines = self._deadlines()
        now = workflow.now()
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
            sla_state=self._sla_state(now),
            sla_paused=bool(state.clock and state.clock.paused),
            first_response_due=deadlines.first_response,
            next_response_due=deadlines.next_response,
            resolution_due=deadlines.resolution,
            escalation_level=state.escalation_level,
            message_count=state.message_count,
            merged_into_id=state.merged_into_id,
            reopen_until=self._reopen_until() if state.closed_at else None,
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
