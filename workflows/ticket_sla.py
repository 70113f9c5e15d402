"""The SLA of one ticket inside its workflow: deadlines under the ticket's policy, when to wake up
next, and what falls due at a given instant (the pre-breach warning, the breach, each escalation
level with its actions). Pure: no Temporal import; the workflow turns what this returns into
timeline events and notifications.

Every instant here is business time on the policy's calendar: the warning comes N business
minutes before a deadline and an escalation level fires N business minutes after the breach, so
no alert goes out at night or over the weekend (the complaint about Zammad's escalations).
A breach that is cured (the agent replied, the policy changed) returns the ticket to level 0; the
timeline keeps what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from workflows import sla, ticket_rules
from workflows.business_calendar import BusinessCalendar, add_business_time
from workflows.ticket_messages import EscalationStep, SlaPolicySnapshot
from workflows.ticket_state import TicketState

# A ticket without a policy has no deadlines; its clock still pauses and resumes, on this.
ROUND_THE_CLOCK = BusinessCalendar(working_days=frozenset(range(7)), hours=((time(0), time(0)),))


@dataclass
class SlaEvent:
    """Something the SLA did: a timeline event kind, its data, and for an escalation its step
    (whose notification the workflow sends)."""

    kind: str
    data: dict[str, object] = field(default_factory=dict)
    step: EscalationStep | None = None


def calendar_of(policy: SlaPolicySnapshot) -> BusinessCalendar:
    snapshot = policy.calendar
    return BusinessCalendar(
        time_zone=snapshot.time_zone,
        working_days=frozenset(snapshot.working_days),
        hours=tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in snapshot.hours),
        holidays=frozenset(snapshot.holidays),
    )


def targets_of(policy: SlaPolicySnapshot) -> sla.SlaTargets:
    def minutes(value: int | None) -> timedelta | None:
        return None if value is None else timedelta(minutes=value)

    return sla.SlaTargets(
        first_response=minutes(policy.first_response_minutes),
        next_response=minutes(policy.next_response_minutes),
        resolution=minutes(policy.resolution_minutes),
        warning_before=timedelta(minutes=policy.warning_minutes),
    )


class TicketSla:
    """Holds only a cache of the parsed calendar; the facts live in `TicketState`."""

    def __init__(self) -> None:
        self._cache: tuple[SlaPolicySnapshot, BusinessCalendar] | None = None
        # The deadlines of the last (policy, clock) asked for: one change asks several times
        # (projection, search attributes, view, timers) and each answer walks the calendar.
        self._last: tuple[SlaPolicySnapshot, sla.SlaClock, sla.Deadlines] | None = None

    def calendar(self, state: TicketState) -> BusinessCalendar:
        policy = state.policy
        if policy is None:
            return ROUND_THE_CLOCK
        if self._cache is None or self._cache[0] is not policy:
            self._cache = (policy, calendar_of(policy))
        return self._cache[1]

    def deadlines(self, state: TicketState) -> sla.Deadlines:
        policy, clock = state.policy, state.clock
        if policy is None or clock is None:
            return sla.Deadlines()
        if self._last is None or self._last[0] is not policy or self._last[1] != clock:
            found = sla.deadlines(clock, self.calendar(state), targets_of(policy))
            self._last = (policy, clock, found)
        return self._last[2]

    def state_at(self, state: TicketState, now: datetime) -> sla.SlaState:
        return sla.sla_state(self.deadlines(state), now)

    def move_clock(self, state: TicketState, before: str, after: str, now: datetime) -> None:
        """The clock follows the status's state type: paused statuses stop it, resolved ones
        stop it for good, leaving a paused status resumes it (shifted by the business time the
        pause covered)."""
        clock = state.clock
        if clock is None:
            return
        if ticket_rules.is_paused(after):
            clock = sla.pause(clock, now)
        elif ticket_rules.is_paused(before):
            clock = sla.resume(clock, self.calendar(state), now)
        if ticket_rules.is_resolved(after):
            clock = sla.resolve(clock, now)
        state.clock = clock

    def next_instant(self, state: TicketState, now: datetime) -> datetime | None:
        """The next warning, deadline or escalation level strictly after `now`."""
        instants = [sla.next_wake_up(self.deadlines(state), now)]
        step = _next_step(state)
        breached = state.breached_at is not None and self.state_at(state, now) == "breached"
        if step is not None and breached:
            instants.append(self._escalation_due(state, step))
        return min((i for i in instants if i is not None and i > now), default=None)

    def settle(self, state: TicketState, now: datetime) -> None:
        """Forget a breach that no longer stands, before the state is written or shown."""
        if self.state_at(state, now) != "breached":
            state.breached_at = None
            state.escalation_level = 0

    def fall_due(self, state: TicketState, now: datetime) -> list[SlaEvent]:
        """Apply whatever is due at `now` to `state`; return what happened, in order."""
        self.settle(state, now)
        deadlines = self.deadlines(state)
        current = sla.sla_state(deadlines, now)
        if current == "ok":
            return []
        nearest = min(deadlines.open())
        events: list[SlaEvent] = []
        if current == "at_risk" and state.warned_for != nearest:
            state.warned_for = nearest
            events.append(SlaEvent("sla_warning", {"due": nearest.isoformat()}))
        if current == "breached":
            if state.breached_at is None:
                state.breached_at = nearest
                events.append(SlaEvent("sla_breached", self.summary(state)))
            step = _next_step(state)
            while step is not None and now >= self._escalation_due(state, step):
                events.append(_escalate(state, step))
                step = _next_step(state)
        return events

    def summary(self, state: TicketState) -> dict[str, object]:
        """The policy and deadlines, as the timeline shows them."""
        deadlines = self.deadlines(state)
        return {
            "policy": state.policy.name if state.policy else None,
            "first_response_due": _iso(deadlines.first_response),
            "next_response_due": _iso(deadlines.next_response),
            "resolution_due": _iso(deadlines.resolution),
        }

    def _escalation_due(self, state: TicketState, step: EscalationStep) -> datetime:
        assert state.breached_at is not None
        delay = timedelta(minutes=step.after_minutes)
        return add_business_time(self.calendar(state), state.breached_at, delay)


def _next_step(state: TicketState) -> EscalationStep | None:
    if state.policy is None:
        return None
    steps = sorted(state.policy.escalation, key=lambda s: s.level)
    return next((s for s in steps if s.level > state.escalation_level), None)


def _escalate(state: TicketState, step: EscalationStep) -> SlaEvent:
    """Raise the level and apply the step's actions to the state. The policy stays: a raised
    priority must not re-select the policy and move the very deadline being escalated."""
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
    return SlaEvent("sla_escalated", data, step)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
