"""SLA clocks and deadlines for tickets: pure, deterministic, no Temporal import.

The ticket workflow keeps one `SlaClock` per ticket, replaces it on every event (`pause`, `resume`,
`record_agent_reply`, `record_customer_message`, `resolve` return new values), recomputes
`deadlines()` and sleeps until `next_wake_up()`. All values are frozen dataclasses the data
converter round-trips, so the clock can be carried through continue-as-new. Import it in workflow
code inside `workflow.unsafe.imports_passed_through()` (see `workflows.business_calendar`).

Rules (after Zammad's model, without its known bugs):
- Three targets, each business time on the ticket's calendar: first response (from opening),
  next response (from the oldest customer message not yet answered, once there was a first
  response), resolution (from opening).
- An agent reply meets the first-response target and any pending next-response target for good: a
  replied ticket never escalates for lack of a reply.
- Pausing (waiting on the customer, on hold) stops every running deadline; resuming shifts each by
  the business time the pause covered, not by the wall-clock time (a pause over a weekend shifts
  deadlines by the working hours it covered only).
- Resolving stops every deadline.
- The pre-breach warning comes `warning_before` of *business* time before a deadline: a deadline
  at Sunday 08:15 with a 30-minute warning warns on Thursday at 16:15, not at 07:45 on Sunday
  morning, so no alert fires at night or over the weekend (a Zammad complaint).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from workflows.business_calendar import (
    ZERO,
    BusinessCalendar,
    add_business_time,
    business_time_between,
    subtract_business_time,
)

SlaState = Literal["ok", "at_risk", "breached"]


@dataclass(frozen=True)
class SlaTargets:
    """One SLA policy's targets, as business time; None means the policy sets no such target.
    `warning_before` is the business time before a deadline at which the ticket turns at risk."""

    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None
    warning_before: timedelta = ZERO


@dataclass(frozen=True)
class SlaClock:
    """What the SLA needs to know about a ticket's history. All instants are aware (UTC)."""

    started_at: datetime
    # Business time covered by pauses that have ended.
    paused_business_time: timedelta = ZERO
    # Set while the clock is paused (waiting on the customer, on hold).
    paused_since: datetime | None = None
    first_response_at: datetime | None = None
    # The oldest customer message not yet answered after the first response (for display) …
    awaiting_reply_since: datetime | None = None
    # … and where its next-response count starts: the message, or the start of the pause it came
    # in, with the paused business time already counted by then (so earlier pauses don't shift it).
    next_response_from: datetime | None = None
    next_response_paused_offset: timedelta = ZERO
    resolved_at: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


@dataclass(frozen=True)
class Deadlines:
    """The instants at which each target breaches; None when met, stopped, not applicable or
    suspended by a pause. While the clock is paused, a deadline that had already passed when the
    pause began is kept (the ticket stays breached); one still to come is None (it will move by the
    length of the pause, so the workflow must not sleep on it)."""

    first_response: datetime | None = None
    next_response: datetime | None = None
    resolution: datetime | None = None
    # When each open deadline turns the ticket at risk, earliest first (business time before it).
    warnings: tuple[datetime, ...] = ()

    def open(self) -> list[datetime]:
        return [d for d in (self.first_response, self.next_response, self.resolution) if d]


def start_clock(at: datetime) -> SlaClock:
    return SlaClock(started_at=at)


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop the clock at `at`. Pausing a paused or resolved clock changes nothing (idempotent)."""
    if clock.paused or clock.resolved_at is not None:
        return clock
    return replace(clock, paused_since=at)


def resume(clock: SlaClock, calendar: BusinessCalendar, at: datetime) -> SlaClock:
    """Restart the clock at `at`; every deadline moves by the business time the pause covered.
    Resuming a running clock changes nothing (idempotent)."""
    if clock.paused_since is None:
        return clock
    covered = business_time_between(calendar, clock.paused_since, at)
    return replace(
        clock, paused_business_time=clock.paused_business_time + covered, paused_since=None
    )


def record_agent_reply(clock: SlaClock, at: datetime) -> SlaClock:
    """A reply visible to the customer (not an internal note): meets the first response, if still
    due, and the pending next response."""
    return replace(
        clock,
        first_response_at=clock.first_response_at or at,
        awaiting_reply_since=None,
        next_response_from=None,
        next_response_paused_offset=ZERO,
    )


def record_customer_message(clock: SlaClock, at: datetime) -> SlaClock:
    """A customer message. Before the first response it changes nothing (the first-response
    deadline already runs); after it, the first unanswered message starts the next-response count,
    and later ones don't move it."""
    if clock.first_response_at is None or clock.awaiting_reply_since is not None:
        return clock
    # A message arriving during a pause counts from the pause's start; the business time between
    # the pause's start and its end is added back on resume, so that is the same as counting from
    # the resumption, and it needs no calendar here.
    counted_from = clock.paused_since or at
    return replace(
        clock,
        awaiting_reply_since=at,
        next_response_from=counted_from,
        next_response_paused_offset=clock.paused_business_time,
    )


def reopened(at: datetime) -> SlaClock:
    """The clock of a reopened ticket: a new cycle from `at`, whose first response counts as met
    (the customer was answered before), so resolution counts afresh and the next response starts
    with the customer's next message."""
    return SlaClock(started_at=at, first_response_at=at)


def resolve(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop every deadline. Resolving twice keeps the first time."""
    return replace(clock, resolved_at=clock.resolved_at or at)


def _due(
    calendar: BusinessCalendar,
    clock: SlaClock,
    counted_from: datetime,
    target: timedelta,
    paused: timedelta,
) -> datetime | None:
    due = add_business_time(calendar, counted_from, target + paused)
    if clock.paused_since is not None and due > clock.paused_since:
        return None  # suspended: it moves by the pause's length, known only on resume
    return due


def deadlines(clock: SlaClock, calendar: BusinessCalendar, targets: SlaTargets) -> Deadlines:
    """The ticket's breach instants under `targets` (see `Deadlines` for what None means)."""
    if clock.resolved_at is not None:
        return Deadlines()
    first_response = next_response = resolution = None
    if targets.first_response is not None and clock.first_response_at is None:
        first_response = _due(
            calendar, clock, clock.started_at, targets.first_response, clock.paused_business_time
        )
    if targets.next_response is not None and clock.next_response_from is not None:
        next_response = _due(
            calendar,
            clock,
            clock.next_response_from,
            targets.next_response,
            clock.paused_business_time - clock.next_response_paused_offset,
        )
    if targets.resolution is not None:
        resolution = _due(
            calendar, clock, clock.started_at, targets.resolution, clock.paused_business_time
        )
    found = Deadlines(first_response, next_response, resolution)
    warnings = sorted(
        subtract_business_time(calendar, due, targets.warning_before) for due in found.open()
    )
    return replace(found, warnings=tuple(warnings))


def sla_state(deadlines: Deadlines, now: datetime) -> SlaState:
    """breached when an open deadline is at or before `now`; at_risk when one's warning is;
    else ok. Met targets are no longer open, so a breach followed by a late reply reads ok here:
    past breaches are timeline events and escalation levels, not state."""
    if any(due <= now for due in deadlines.open()):
        return "breached"
    if any(warning <= now for warning in deadlines.warnings):
        return "at_risk"
    return "ok"


def next_wake_up(deadlines: Deadlines, now: datetime) -> datetime | None:
    """The earliest warning or deadline strictly after `now`: what the workflow sleeps until
    (then it wakes, recomputes `sla_state` and acts). None when nothing is to come, e.g. while
    paused or once every target is met."""
    instants = [instant for instant in (*deadlines.open(), *deadlines.warnings) if instant > now]
    return min(instants, default=None)
