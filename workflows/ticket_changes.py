"""What each change does to a ticket, and what the update validators check before anything is
written: opening, replies, notes, assignment, status, priority and category (which re-select the
SLA policy), tags, watchers, merge, reopen. `TicketWorkflow` (workflows.tickets) declares the
updates and delegates here. Passed through the sandbox, like workflows.ticket_process.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import activity_options, sla, ticket_rules
from workflows.ticket_messages import (
    AUTO_ASSIGN,
    CHOOSE_SLA_POLICY,
    MOVE_TICKET_RECORDS,
    OPEN_TICKET,
    RECORD_TICKET_OPENED,
    ROUTE_TICKET,
    SYSTEM,
    AddNote,
    Assign,
    Assignment,
    Author,
    AutoAssign,
    EventRecord,
    InboundEmail,
    Merge,
    MergedIn,
    MessageRecord,
    MovedRecords,
    MoveRecords,
    NewTicket,
    NewTicketRecord,
    OpenedTicket,
    OpenTicket,
    PolicyChoice,
    PolicyQuery,
    Reopen,
    Reply,
    Routing,
    RoutingQuery,
    SetCategory,
    SetCustomer,
    SetPriority,
    SetStatus,
    SetTags,
    SlaPolicySnapshot,
    TicketOpened,
    Watch,
    workflow_id,
)
from workflows.ticket_process import TicketProcess, _policy_id, refuse

TAG_LIMIT = 20
TAG_LENGTH = 40  # the column's width


class TicketChanges(TicketProcess):
    async def _open(self, request: OpenTicket, now: datetime) -> None:
        # One local activity instead of four, patched with the notifications' queueing.
        if self._notices_in_outbox():
            await self._open_in_one_transaction(request, now)
        else:
            await self._open_step_by_step(request, now)

    async def _open_in_one_transaction(self, request: OpenTicket, now: datetime) -> None:
        """Routed, under its SLA policy, numbered, recorded and auto-assigned by one local
        activity; then the SLA clock starts, written with the opening's notifications."""
        state = self._state
        state.opened_at = now
        opened = await workflow.execute_local_activity(
            OPEN_TICKET, NewTicket(request, now, str(workflow.uuid4()), str(workflow.uuid4())),
            result_type=OpenedTicket, **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        state.number = opened.number
        state.group_id = opened.routing.group_id
        state.automation = opened.routing.automation
        state.policy = opened.policy
        state.assignee_id = opened.assignee_id
        self._start_life(request, now)
        state.seq = 1
        await self._start_sla(request, now)

    async def _open_step_by_step(self, request: OpenTicket, now: datetime) -> None:
        """Histories from before WRITES_QUEUE_NOTICES (ticket_notices): five local activities."""
        state = self._state
        state.opened_at = now
        # Routing and the SLA policy do not depend on each other: read both at once, so the
        # caller waiting for the ticket's number waits for one round of reads, not two.
        routing, state.policy = await asyncio.gather(
            workflow.execute_local_activity(
                ROUTE_TICKET, RoutingQuery(request.category_id, request.group_id),
                result_type=Routing, **activity_options.LOCAL_DATABASE,
            ),
            self._choose_policy(),
        )  # fmt: skip
        state.group_id = routing.group_id
        state.automation = routing.automation
        state.assignee_id = request.assignee_id
        self._start_life(request, now)
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
        await self._start_sla(request, now)

    def _start_life(self, request: OpenTicket, now: datetime) -> None:
        """What an opened ticket starts with: its SLA clock, its first message, its requester
        watching."""
        state = self._state
        state.clock = sla.start_clock(now)
        state.last_customer_message_at = now if request.requester.kind == "customer" else None
        state.message_count = 1
        state.watcher_ids = [request.requester.user_id] if request.requester.user_id else []

    async def _start_sla(self, request: OpenTicket, now: datetime) -> None:
        """The SLA clock on record, and the requester and the assigned agent told."""
        state = self._state

        def notify() -> None:
            if request.requester.kind == "customer":
                self._notify("opened", actor=request.requester, message_id=request.ticket_id)
            if state.assignee_id and state.assignee_id != request.requester.user_id:
                self._notify("assigned", actor=request.requester,
                             recipient_ids=[state.assignee_id])  # fmt: skip

        started = self._event("sla_started", SYSTEM, self._sla.summary(state))
        await self._write_and_notify(now, notify, events=[started])

    async def _choose_policy(self) -> SlaPolicySnapshot | None:
        state = self._state
        choice = await workflow.execute_local_activity(
            CHOOSE_SLA_POLICY, PolicyQuery(state.customer_id, state.priority, state.category_id),
            result_type=PolicyChoice, **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        return choice.policy

    async def _reselect_policy(self, actor: Author) -> list[EventRecord]:
        before = self._state.policy
        self._state.policy = await self._choose_policy()
        if _policy_id(before) == _policy_id(self._state.policy):
            return []
        return [self._event("sla_policy_changed", actor, self._sla.summary(self._state))]

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
            channel, notice = message.channel or state.channel, "customer_replied"
        record = MessageRecord(
            message.request_id, message.author, message.body, False, channel, message.attachments
        )
        await self._write_and_notify(
            now, lambda: self._notify(notice, actor=message.author, message_id=message.request_id),
            message=record, events=events,
        )  # fmt: skip

    async def _add_note(self, note: AddNote, now: datetime) -> None:
        record = MessageRecord(
            note.request_id, note.author, note.body, True, "staff", note.attachments
        )
        event = self._event("note_added", note.author, {}, key=note.request_id)
        mentioned = [i for i in note.mentioned_ids if i != note.author.user_id]

        def notify() -> None:
            if mentioned:
                self._notify("mentioned", actor=note.author, message_id=note.request_id,
                             recipient_ids=mentioned)  # fmt: skip

        await self._write_and_notify(now, notify, message=record, events=[event])

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
        event = self._event("assigned", change.author, data, key=change.request_id)

        def notify() -> None:
            if change.assignee_id and change.assignee_id != change.author.user_id:
                self._notify("assigned", actor=change.author, recipient_ids=[change.assignee_id])

        await self._write_and_notify(now, notify, events=[event])

    async def _set_status(self, change: SetStatus, now: datetime) -> None:
        events = self._move_to(change.status, now, change.author, key=change.request_id)
        if not events:
            return  # already there

        def notify() -> None:
            if change.author.kind != "customer":
                self._notify("status_changed", actor=change.author, data={"status": change.status})

        await self._write_and_notify(now, notify, events=events)

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

    async def _set_customer(self, change: SetCustomer, now: datetime) -> None:
        state = self._state
        before = {"customer_id": state.customer_id, "requester_id": state.requester_id}
        state.customer_id = change.customer_id
        state.requester_id = change.requester_id
        after = {"customer_id": change.customer_id, "requester_id": change.requester_id,
                 "name": change.customer_name}  # fmt: skip
        data: dict[str, object] = {"before": before, "after": after}
        events = [self._event("customer_set", change.author, data, key=change.request_id)]
        watchers = [change.requester_id] if change.requester_id else []
        state.watcher_ids = sorted(set(state.watcher_ids) | set(watchers))
        # Another customer may fall under another SLA policy (its segment).
        events += await self._reselect_policy(change.author)
        await self._write(now, events=events, add_watchers=watchers)

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
            type(self).run,
            workflow_id(change.into_ticket_id),  # type: ignore[attr-defined]
        )
        await target.signal(
            type(self).merged_in,  # type: ignore[attr-defined]
            MergedIn(state.ticket_id, state.number, state.message_count, moved.watcher_ids,
                     change.author),
        )  # fmt: skip
        state.merged_into_id = change.into_ticket_id
        data = {"ticket_id": change.into_ticket_id, "number": change.into_number}
        events = [self._event("merged_into", change.author, data, key=change.request_id)]
        await self._write(now, events=events + self._move_to("closed", now, change.author))

    async def _reopen_now(self, change: Reopen, now: datetime) -> None:
        await self._write(now, events=self._reopen(now, change.author, change.request_id))

    async def _merged_in(self, merged: MergedIn) -> None:
        key = f"{self._state.ticket_id}:merged:{merged.from_ticket_id}"
        # A signal has nobody to answer: a refused write is logged, never raised.
        with contextlib.suppress(ApplicationError):
            await self._apply(key, lambda now: self._take_merged(merged, now))

    async def _take_merged(self, merged: MergedIn, now: datetime) -> None:
        state = self._state
        state.message_count += merged.message_count
        state.watcher_ids = sorted(set(state.watcher_ids) | set(merged.watcher_ids))
        data = {"ticket_id": merged.from_ticket_id, "number": merged.from_number}
        await self._write(now, events=[self._event("merged_from", merged.author, data)])

    async def _inbound_email(self, mail: InboundEmail) -> None:
        # A signal has nobody to answer: a refused write is logged, never raised.
        with contextlib.suppress(ApplicationError):
            await self._apply(mail.request_id, lambda now: self._take_mail(mail, now))

    async def _take_mail(self, mail: InboundEmail, now: datetime) -> None:
        state = self._state
        if mail.automatic or not self._may_reopen(now):
            # An auto-reply changes nothing and answers nobody. So does a mail that reached a
            # ticket closed beyond its window in the instant before its run ends (the poller
            # routed it while the ticket could still take it): kept on record, never lost.
            state.message_count += 1
            kind = "auto_reply_received" if mail.automatic else "customer_replied"
            record = MessageRecord(
                mail.request_id, mail.author, mail.body, False, "email", mail.attachments
            )
            event = self._event(kind, mail.author, {}, key=mail.request_id)
            await self._write(now, message=record, events=[event])
            return
        reply = Reply(mail.request_id, mail.author, mail.body, mail.attachments, channel="email")
        await self._reply(reply, now)

    def _check_reply(self, message: Reply) -> None:
        if self._seen(message.request_id):
            return
        self._require_body(message.body, message.attachments)
        if self._state.merged_into_id:
            raise refuse("This ticket was merged into another one.", "TicketMerged")
        if message.author.kind == "agent":
            self._require_open()
            wanted = message.set_status
            if wanted and wanted not in ticket_rules.REPLY_STATUSES:
                raise refuse(f"A reply cannot set the status {wanted}.", "InvalidTransition")
        elif self._state.status == "closed" and not self._may_reopen(workflow.now()):
            raise refuse("This ticket is closed; write a new one.", "ReopenWindowPassed")

    def _check_add_note(self, note: AddNote) -> None:
        if self._seen(note.request_id):
            return
        self._require_staff(note.author)
        self._require_body(note.body, note.attachments)

    def _check_assign(self, change: Assign) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()

    def _check_set_status(self, change: SetStatus) -> None:
        if self._seen(change.request_id):
            return
        if change.status not in ticket_rules.STATUSES:
            raise refuse(f"Unknown status {change.status}.", "InvalidTransition")
        if change.status == self._state.status:
            return
        by_staff = change.author.kind != "customer"
        if not ticket_rules.may_set_status(self._state.status, change.status, by_staff=by_staff):
            raise refuse(
                f"A ticket cannot go from {self._state.status} to {change.status}.",
                "InvalidTransition",
            )

    def _check_set_priority(self, change: SetPriority) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()
        if change.priority not in ticket_rules.PRIORITIES:
            raise refuse(f"Unknown priority {change.priority}.", "InvalidPriority")

    def _check_set_category(self, change: SetCategory) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()

    def _check_set_customer(self, change: SetCustomer) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()
        if self._state.merged_into_id:
            raise refuse("This ticket was merged into another one.", "TicketMerged")

    def _check_tag(self, change: SetTags) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        if len(change.applied_to(self._state.tags)) > TAG_LIMIT:
            raise refuse(f"At most {TAG_LIMIT} tags.", "TooManyTags")
        named = [*(change.tags or []), *change.add]
        if any(not tag.strip() or len(tag) > TAG_LENGTH for tag in named):
            raise refuse(f"A tag has 1 to {TAG_LENGTH} characters.", "InvalidTag")

    def _check_watch(self, change: Watch) -> None:
        if self._seen(change.request_id):
            return
        if change.author.kind == "customer" and change.user_id != change.author.user_id:
            raise refuse("Customers can only follow tickets themselves.", "NotAllowed")

    def _check_merge(self, change: Merge) -> None:
        if self._seen(change.request_id):
            return
        self._require_staff(change.author)
        self._require_open()
        if change.into_ticket_id == self._state.ticket_id:
            raise refuse("A ticket cannot be merged into itself.", "InvalidMerge")

    def _check_reopen(self, change: Reopen) -> None:
        if self._seen(change.request_id):
            return
        if self._state.merged_into_id:
            raise refuse("This ticket was merged into another one.", "TicketMerged")
        if not ticket_rules.is_resolved(self._state.status):
            raise refuse("Only a resolved or closed ticket can be reopened.", "InvalidTransition")
        if not self._may_reopen(workflow.now()):
            raise refuse("The reopen window has passed; write a new ticket.", "ReopenWindowPassed")
