"""A ticket's status over time: the transitions (with the SLA clock following the status's state
type), reopening and its window, and what the timers do when they fall due (the SLA's warning,
breach and escalation levels; the waiting-on-customer reminder and auto-close; the resolved
auto-close). The main loop in ticket_process sleeps until `_next_timer` and calls `_on_timers`.
Passed through the sandbox like ticket_process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows import sla, ticket_rules
from workflows.ticket_messages import SYSTEM, Author, EventRecord
from workflows.ticket_sla import SlaEvent, TicketSla
from workflows.ticket_state import TicketState


class TicketLifecycle:
    _state: TicketState
    _sla: TicketSla

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
