"""Business-hours calendars and business-time arithmetic: pure, deterministic, no Temporal import.

Safe inside workflow code: nothing here reads the clock, the network or the database; every function
takes the instants it needs. Instants go in and come out as aware UTC datetimes; the calendar's
wall-clock hours are turned into UTC per local day through `zoneinfo`, so a day on which the clocks
change has one hour more or less of business time, exactly as the wall clock says.

Holidays are data (a frozenset of local dates) because admins correct the estimated Islamic
holidays; `algerian_holidays()` only seeds that list and is never called from a workflow.

Workflow code must import this module (and `workflows.sla`) inside
`workflow.unsafe.imports_passed_through()`: the sandbox wraps `zoneinfo.ZoneInfo` in a restricted
proxy that `datetime.astimezone()` refuses as a tzinfo. Passing the module through is sound because
it holds no state of its own (zoneinfo's cache of parsed zones is deterministic).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# date.weekday() numbers: Monday is 0, Sunday is 6.
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
ALGERIAN_WEEK = frozenset({SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY})
ZERO = timedelta(0)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the clock runs. `hours` are local wall-clock intervals, applied to every working day
    that is not a holiday; several intervals make a lunch break. An interval ending at `time(0)`
    ends at midnight (24:00), so `((time(0), time(0)),)` is round the clock."""

    time_zone: str = "Africa/Algiers"
    working_days: frozenset[int] = ALGERIAN_WEEK
    hours: tuple[tuple[time, time], ...] = ((time(8, 0), time(16, 30)),)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        ZoneInfo(self.time_zone)  # an unknown zone fails here, not in the middle of a workflow
        # Without a working day or an interval, "the next opening" never comes: refuse the calendar
        # rather than loop for ever inside a workflow task.
        if not self.working_days or not self.working_days <= set(range(7)):
            raise ValueError("working_days must be a non-empty set of weekday numbers 0..6")
        if not self.hours:
            raise ValueError("a calendar needs at least one interval of business hours")
        previous_end = time(0)
        for index, (start, end) in enumerate(self.hours):
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("business hours are local wall-clock times, without tzinfo")
            if end != time(0) and end <= start:
                raise ValueError(f"interval {start}–{end} ends before it starts")
            if index and (previous_end == time(0) or start < previous_end):
                raise ValueError("business-hour intervals must be in order and must not overlap")
            previous_end = end


def algerian_holidays(years: Iterable[int]) -> frozenset[date]:
    """Algeria's public holidays for `years`, from the `holidays` package. Islamic holidays there
    are estimates: this seeds a calendar that admins then correct, and is never called from
    workflow code (the workflow receives the calendar as data)."""
    import holidays  # imported here so workflow code importing this module never loads it

    return frozenset(holidays.country_holidays("DZ", years=list(years)).keys())


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business-time arithmetic needs aware datetimes")
    return at.astimezone(UTC)


def _intervals_from(
    calendar: BusinessCalendar, at: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's business intervals in UTC, in order, from the local day containing `at` on
    (endlessly: the caller stops). Intervals that closed before `at` are included; callers clip."""
    zone = ZoneInfo(calendar.time_zone)
    day = at.astimezone(zone).date()
    while True:
        if day.weekday() in calendar.working_days and day not in calendar.holidays:
            for start, end in calendar.hours:
                # A wall time that does not exist (spring forward) or exists twice (fall back) is
                # read with fold=0, zoneinfo's rule; only calendars open around 02:00 can meet it.
                opens = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
                close_day = day + timedelta(days=1) if end == time(0) else day
                closes = datetime.combine(close_day, end, tzinfo=zone).astimezone(UTC)
                yield opens, closes
        day += timedelta(days=1)


def _intervals_back_from(
    calendar: BusinessCalendar, at: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The same intervals, latest first, from the local day containing `at` backwards."""
    zone = ZoneInfo(calendar.time_zone)
    day = at.astimezone(zone).date()
    while True:
        forward = _intervals_from(calendar, datetime.combine(day, time(12), tzinfo=zone))
        today = []
        for opens, closes in forward:
            if opens.astimezone(zone).date() != day:
                break
            today.append((opens, closes))
        yield from reversed(today)
        day -= timedelta(days=1)


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The UTC instant at which `duration` of business time has run since `start`.

    A start outside business hours counts from the next opening. The result is inside business
    hours or exactly at a closing time: a target used up by 16:30 falls due at 16:30, not at the
    next opening. A zero duration returns `start` when it is open (or at a closing time), else the
    next opening."""
    if duration < ZERO:
        raise ValueError("duration must not be negative")
    start = _as_utc(start)
    remaining = duration
    for opens, closes in _intervals_from(calendar, start):
        opens = max(opens, start)
        if closes < opens:
            continue
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover


def subtract_business_time(
    calendar: BusinessCalendar, end: datetime, duration: timedelta
) -> datetime:
    """The latest UTC instant from which `duration` of business time runs until `end`: the
    pre-breach warning of a deadline, so a warning never falls at night or on a weekend.

    Where two instants qualify (the duration is used up exactly at an opening, which is also the
    previous closing in business time), the later one, the opening, is returned. A zero duration
    returns `end` itself."""
    if duration < ZERO:
        raise ValueError("duration must not be negative")
    end = _as_utc(end)
    if duration == ZERO:
        return end
    remaining = duration
    for opens, closes in _intervals_back_from(calendar, end):
        closes = min(closes, end)
        if closes <= opens:
            continue
        if remaining <= closes - opens:
            return closes - remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: _intervals_back_from never ends")  # pragma: no cover


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time in [start, end); zero when `end` is not after `start`."""
    start, end = _as_utc(start), _as_utc(end)
    total = ZERO
    if end <= start:
        return total
    for opens, closes in _intervals_from(calendar, start):
        if opens >= end:
            return total
        overlap = min(closes, end) - max(opens, start)
        if overlap > ZERO:
            total += overlap
    raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover


def is_business_time(calendar: BusinessCalendar, at: datetime) -> bool:
    """True when the clock runs at `at` (an interval's opening counts, its closing does not)."""
    at = _as_utc(at)
    for opens, closes in _intervals_from(calendar, at):
        if opens > at:
            return False
        if at < closes:
            return True
    raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover
