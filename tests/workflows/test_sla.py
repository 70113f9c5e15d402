"""SLA arithmetic as a specification: business-time tables, the ticket clock's rules, and
properties of the calendar arithmetic checked with hypothesis.

The week used throughout is 1–8 February 2026 in Algiers (UTC+1, no DST, no public holiday):
Thursday the 5th, Friday the 6th and Saturday the 7th, Sunday the 8th.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.contrib.pydantic import pydantic_data_converter

from workflows.business_calendar import (
    FRIDAY,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    BusinessCalendar,
    add_business_time,
    algerian_holidays,
    business_time_between,
    is_business_time,
    subtract_business_time,
)
from workflows.sla import (
    Deadlines,
    SlaClock,
    SlaTargets,
    deadlines,
    next_wake_up,
    pause,
    record_agent_reply,
    record_customer_message,
    resolve,
    resume,
    sla_state,
    start_clock,
)

ALGIERS = BusinessCalendar()  # Sunday–Thursday 08:00–16:30, Africa/Algiers
LUNCH = BusinessCalendar(hours=((time(8), time(12)), (time(13), time(16, 30))))
PARIS_WEEK = BusinessCalendar(
    time_zone="Europe/Paris",
    working_days=frozenset({MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY}),
    hours=((time(9), time(17)),),
)
PARIS_ROUND_THE_CLOCK = BusinessCalendar(
    time_zone="Europe/Paris",
    working_days=frozenset(range(7)),
    hours=((time(0), time(0)),),
)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def local(day: int, hour: int, minute: int = 0, *, month: int = 2, zone: str = "Africa/Algiers"):
    """An instant given as 2026 wall-clock time in `zone`, returned in UTC like the workflow's."""
    wall = datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(zone))
    return wall.astimezone(UTC)


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return local(day, hour, minute, month=month, zone="Europe/Paris")


# --- business time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "calendar", "start", "duration", "due"),
    [
        (
            "the issue's example: Thursday 15:00 + 4 h",
            ALGIERS,
            local(5, 15),
            4 * H,
            local(8, 10, 30),
        ),
        ("inside one day", ALGIERS, local(8, 9), 2 * H, local(8, 11)),
        ("used up exactly at closing", ALGIERS, local(5, 15), 90 * M, local(5, 16, 30)),
        ("opened Friday counts from Sunday 08:00", ALGIERS, local(6, 11), 2 * H, local(8, 10)),
        ("opened Saturday night", ALGIERS, local(7, 23), 30 * M, local(8, 8, 30)),
        ("opened 07:00 counts from 08:00", ALGIERS, local(8, 7), 2 * H, local(8, 10)),
        ("opened after closing counts from tomorrow", ALGIERS, local(8, 17), H, local(9, 9)),
        ("zero while open is now", ALGIERS, local(8, 9), timedelta(0), local(8, 9)),
        ("zero while closed is the next opening", ALGIERS, local(6, 9), timedelta(0), local(8, 8)),
        ("lunch break skipped", LUNCH, local(8, 11), 2 * H, local(8, 14)),
        ("opened during lunch counts from 13:00", LUNCH, local(8, 12, 15), H, local(8, 14)),
        ("a full working week", ALGIERS, local(8, 8), 42.5 * H, local(12, 16, 30)),
        (
            "Paris, Friday to Monday across the March clock change",
            PARIS_WEEK,
            paris(3, 27, 16),
            2 * H,
            paris(3, 30, 10),
        ),
        (
            "Paris round the clock: the spring-forward night has no 02:00–03:00",
            PARIS_ROUND_THE_CLOCK,
            paris(3, 29, 1),
            2 * H,
            paris(3, 29, 4),
        ),
    ],
)
def test_add_business_time(case, calendar, start, duration, due):
    assert add_business_time(calendar, start, duration) == due


def test_results_are_utc():
    assert add_business_time(ALGIERS, local(5, 15), 4 * H).utcoffset() == timedelta(0)
    assert local(8, 10, 30) == datetime(2026, 2, 8, 9, 30, tzinfo=UTC)


def test_a_holiday_in_between_is_skipped():
    # Revolution Day, 1 November 2026, is a Sunday: Thursday 15:00 + 4 h falls on Monday.
    calendar = BusinessCalendar(holidays=algerian_holidays([2026]))
    assert date(2026, 11, 1) in calendar.holidays
    due = add_business_time(calendar, local(29, 15, month=10), 4 * H)
    assert due == local(2, 10, 30, month=11)


def test_holidays_are_data_an_admin_can_correct():
    moved = BusinessCalendar(holidays=frozenset({date(2026, 2, 8)}))
    assert add_business_time(moved, local(5, 15), 4 * H) == local(9, 10, 30)


@pytest.mark.parametrize(
    ("case", "calendar", "start", "end", "expected"),
    [
        ("Thursday 15:00 to Sunday 10:30", ALGIERS, local(5, 15), local(8, 10, 30), 4 * H),
        ("a weekend is worth nothing", ALGIERS, local(5, 16, 30), local(8, 8), timedelta(0)),
        ("pause Thursday 16:00 to Sunday 09:00", ALGIERS, local(5, 16), local(8, 9), 90 * M),
        ("lunch not counted", LUNCH, local(8, 8), local(8, 16, 30), 7.5 * H),
        ("end before start", ALGIERS, local(8, 10), local(8, 9), timedelta(0)),
        (
            "the spring-forward weekend in Paris lasts 47 hours",
            PARIS_ROUND_THE_CLOCK,
            paris(3, 28, 0),
            paris(3, 30, 0),
            47 * H,
        ),
        (
            "the autumn weekend in Paris lasts 49 hours",
            PARIS_ROUND_THE_CLOCK,
            paris(10, 24, 0),
            paris(10, 26, 0),
            49 * H,
        ),
    ],
)
def test_business_time_between(case, calendar, start, end, expected):
    assert business_time_between(calendar, start, end) == expected


@pytest.mark.parametrize(
    ("case", "calendar", "end", "duration", "start"),
    [
        ("inside one day", ALGIERS, local(8, 11), 2 * H, local(8, 9)),
        ("back over the weekend", ALGIERS, local(8, 8, 15), 30 * M, local(5, 16, 15)),
        ("used up at an opening: the opening", ALGIERS, local(8, 8, 30), 30 * M, local(8, 8)),
        ("from a Saturday", ALGIERS, local(7, 10), 30 * M, local(5, 16)),
        ("over lunch", LUNCH, local(8, 13, 30), H, local(8, 11, 30)),
        ("zero is the end itself", ALGIERS, local(7, 10), timedelta(0), local(7, 10)),
    ],
)
def test_subtract_business_time(case, calendar, end, duration, start):
    assert subtract_business_time(calendar, end, duration) == start


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(8, 8), True),
        (local(8, 16, 29), True),
        (local(8, 16, 30), False),
        (local(8, 7, 59), False),
        (local(6, 10), False),
    ],
)
def test_is_business_time(at, expected):
    assert is_business_time(ALGIERS, at) is expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"working_days": frozenset()},
        {"working_days": frozenset({7})},
        {"hours": ()},
        {"hours": ((time(16), time(8)),)},
        {"hours": ((time(8), time(13)), (time(12), time(16)))},
        {"hours": ((time(13), time(16)), (time(8), time(12)))},
        {"time_zone": "Mars/Olympus_Mons"},
    ],
)
def test_calendars_that_cannot_work_are_refused(kwargs):
    with pytest.raises((ValueError, ZoneInfoNotFoundError)):
        BusinessCalendar(**kwargs)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(ALGIERS, datetime(2026, 2, 8, 9), H)


def test_algerian_holidays_cover_fixed_and_estimated_days():
    days = algerian_holidays([2026, 2027])
    assert {date(2026, 7, 5), date(2027, 11, 1), date(2026, 1, 1)} <= days
    assert any(day.month == 3 and day.year == 2026 for day in days)  # Eid al-Fitr, estimated


# --- properties -------------------------------------------------------------------------------

CALENDARS = st.sampled_from(
    [
        BusinessCalendar(holidays=algerian_holidays([2025, 2026, 2027])),
        LUNCH,
        PARIS_WEEK,
        PARIS_ROUND_THE_CLOCK,
        BusinessCalendar(
            time_zone="Europe/Paris",
            working_days=frozenset({SATURDAY, SUNDAY}),
            hours=((time(1), time(4)), (time(22), time(0))),  # nights across both clock changes
        ),
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))


def _is_closing_time(calendar: BusinessCalendar, at: datetime) -> bool:
    return not is_business_time(calendar, at) and is_business_time(
        calendar, at - timedelta(microseconds=1)
    )


@given(CALENDARS, INSTANTS, DURATIONS, DURATIONS)
def test_adding_more_never_ends_earlier(calendar, start, a, b):
    shorter, longer = sorted((a, b))
    assert add_business_time(calendar, start, shorter) <= add_business_time(calendar, start, longer)


@given(CALENDARS, INSTANTS, DURATIONS)
def test_subtracting_is_measured_back_by_business_time_between(calendar, end, duration):
    start = subtract_business_time(calendar, end, duration)
    assert start <= end
    assert business_time_between(calendar, start, end) == duration
    assert duration == timedelta(0) or is_business_time(calendar, start)


@given(CALENDARS, INSTANTS, DURATIONS)
def test_business_time_between_undoes_add(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    assert business_time_between(calendar, start, due) == duration


@given(CALENDARS, INSTANTS, DURATIONS)
def test_results_fall_inside_business_hours_or_at_a_closing_time(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    assert due >= start
    assert is_business_time(calendar, due) or _is_closing_time(calendar, due)


@given(CALENDARS, INSTANTS, DURATIONS, DURATIONS)
def test_adding_in_two_steps_equals_adding_once(calendar, start, first, second):
    in_two = add_business_time(calendar, add_business_time(calendar, start, first), second)
    assert in_two == add_business_time(calendar, start, first + second)


# --- the ticket's SLA clock -------------------------------------------------------------------

FOUR_HOURS_FIRST_RESPONSE = SlaTargets(first_response=4 * H, warning_before=30 * M)
FULL = SlaTargets(
    first_response=4 * H, next_response=2 * H, resolution=8 * H, warning_before=30 * M
)


def test_first_response_of_a_ticket_opened_thursday_afternoon_is_due_sunday_morning():
    clock = start_clock(local(5, 15))
    assert deadlines(clock, ALGIERS, FOUR_HOURS_FIRST_RESPONSE) == Deadlines(
        first_response=local(8, 10, 30), warnings=(local(8, 10),)
    )


def test_waiting_on_the_customer_over_a_weekend_does_not_breach():
    clock = record_agent_reply(start_clock(local(5, 15)), local(5, 15, 30))
    assert deadlines(clock, ALGIERS, FULL).resolution == local(8, 14, 30)

    clock = pause(clock, local(5, 16))  # agent set "waiting on customer"
    assert deadlines(clock, ALGIERS, FULL) == Deadlines()
    assert sla_state(deadlines(clock, ALGIERS, FULL), local(8, 15)) == "ok"
    assert next_wake_up(deadlines(clock, ALGIERS, FULL), local(5, 16)) is None

    clock = resume(clock, ALGIERS, local(8, 9))  # the customer answered on Sunday 09:00
    # Moved by the business time paused (Thursday 16:00–16:30, Sunday 08:00–09:00), not 65 hours.
    assert clock.paused_business_time == 90 * M
    assert deadlines(clock, ALGIERS, FULL).resolution == local(8, 16)


def test_an_agent_reply_cancels_the_first_response_deadline():
    clock = record_agent_reply(start_clock(local(5, 15)), local(5, 16))
    found = deadlines(clock, ALGIERS, FOUR_HOURS_FIRST_RESPONSE)
    assert found.first_response is None
    # Long after the old deadline, nothing escalates and nothing wakes the workflow.
    assert sla_state(found, local(8, 12)) == "ok"
    assert next_wake_up(found, local(5, 16)) is None


def test_a_customer_message_after_the_reply_starts_a_next_response_deadline():
    clock = record_agent_reply(start_clock(local(8, 8)), local(8, 9))
    assert deadlines(clock, ALGIERS, FULL).next_response is None

    clock = record_customer_message(clock, local(8, 10))
    clock = record_customer_message(clock, local(8, 11))  # counted from the oldest unanswered
    assert clock.awaiting_reply_since == local(8, 10)
    assert deadlines(clock, ALGIERS, FULL).next_response == local(8, 12)

    clock = record_agent_reply(clock, local(8, 11, 30))
    assert deadlines(clock, ALGIERS, FULL).next_response is None
    assert clock.first_response_at == local(8, 9)  # the first response stays the first


def test_customer_messages_before_the_first_response_start_no_next_response():
    clock = record_customer_message(start_clock(local(8, 8)), local(8, 9))
    assert clock.awaiting_reply_since is None
    assert deadlines(clock, ALGIERS, FULL).next_response is None


def test_a_pause_before_the_customer_message_does_not_shift_its_next_response():
    clock = record_agent_reply(start_clock(local(8, 8)), local(8, 8, 30))
    clock = resume(pause(clock, local(8, 8, 30)), ALGIERS, local(8, 9, 30))
    clock = record_customer_message(clock, local(8, 10))
    assert deadlines(clock, ALGIERS, FULL).next_response == local(8, 12)
    assert deadlines(clock, ALGIERS, FULL).resolution == local(9, 8, 30)  # 8 h + the hour paused


def test_a_customer_message_during_a_pause_counts_from_the_resumption():
    clock = pause(record_agent_reply(start_clock(local(8, 8)), local(8, 9)), local(8, 9))
    clock = record_customer_message(clock, local(8, 10))
    assert deadlines(clock, ALGIERS, FULL).next_response is None  # paused
    clock = resume(clock, ALGIERS, local(8, 11))
    assert deadlines(clock, ALGIERS, FULL).next_response == local(8, 13)


def test_a_deadline_breached_before_the_pause_stays_breached_while_paused():
    clock = pause(start_clock(local(8, 8)), local(8, 13))  # on hold after the 12:00 deadline
    found = deadlines(clock, ALGIERS, FULL)
    assert found == Deadlines(first_response=local(8, 12), warnings=(local(8, 11, 30),))
    assert sla_state(found, local(8, 14)) == "breached"
    assert next_wake_up(found, local(8, 13)) is None


def test_pause_and_resume_are_idempotent():
    clock = pause(start_clock(local(8, 8)), local(8, 9))
    assert pause(clock, local(8, 10)) == clock
    resumed = resume(clock, ALGIERS, local(8, 10))
    assert resume(resumed, ALGIERS, local(8, 11)) == resumed


def test_resolving_stops_every_deadline():
    clock = record_customer_message(
        record_agent_reply(start_clock(local(8, 8)), local(8, 9)), local(8, 10)
    )
    clock = resolve(clock, local(8, 10, 30))
    assert deadlines(clock, ALGIERS, FULL) == Deadlines()
    assert pause(clock, local(8, 11)) == clock
    assert resolve(clock, local(8, 12)).resolved_at == local(8, 10, 30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(8, 10, 30) - 2 * H, "ok"),
        (local(8, 10, 30) - 31 * M, "ok"),
        (local(8, 10, 30) - 30 * M, "at_risk"),
        (local(8, 10, 30) - M, "at_risk"),
        (local(8, 10, 30), "breached"),
        (local(8, 15), "breached"),
    ],
)
def test_sla_state_goes_ok_then_at_risk_then_breached(now, expected):
    found = deadlines(start_clock(local(5, 15)), ALGIERS, FOUR_HOURS_FIRST_RESPONSE)
    assert found.first_response == local(8, 10, 30)
    assert sla_state(found, now) == expected


def test_the_worst_open_deadline_decides_the_state():
    found = Deadlines(first_response=local(8, 10), resolution=local(8, 16))
    assert sla_state(found, local(8, 11)) == "breached"
    assert sla_state(Deadlines(), local(8, 11)) == "ok"


def test_the_warning_before_a_sunday_morning_deadline_comes_on_thursday_not_at_night():
    # Due Sunday 08:15: 30 business minutes before is Thursday 16:15, not Sunday 07:45.
    found = deadlines(start_clock(local(5, 12, 45)), ALGIERS, FOUR_HOURS_FIRST_RESPONSE)
    assert found.first_response == local(8, 8, 15)
    assert found.warnings == (local(5, 16, 15),)
    assert sla_state(found, local(5, 16, 20)) == "at_risk"
    assert next_wake_up(found, local(5, 13)) == local(5, 16, 15)


def test_a_warning_used_up_at_an_opening_fires_at_the_opening():
    found = deadlines(start_clock(local(5, 13)), ALGIERS, FOUR_HOURS_FIRST_RESPONSE)
    assert found.first_response == local(8, 8, 30)
    assert found.warnings == (local(8, 8),)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(8, 9), local(8, 10)),  # the first warning comes first
        (local(8, 10), local(8, 10, 30)),  # warned: sleep until the deadline
        (local(8, 10, 30), local(8, 15, 30)),  # breached: the resolution's warning is next
        (local(8, 15, 45), local(8, 16)),
        (local(8, 16), None),
    ],
)
def test_next_wake_up_is_the_earliest_future_warning_or_deadline(now, expected):
    found = Deadlines(
        first_response=local(8, 10, 30),
        resolution=local(8, 16),
        warnings=(local(8, 10), local(8, 15, 30)),
    )
    assert next_wake_up(found, now) == expected


def test_the_clock_survives_the_data_converter_for_continue_as_new():
    clock = record_customer_message(
        pause(record_agent_reply(start_clock(local(8, 8)), local(8, 9)), local(8, 9)), local(8, 10)
    )
    values = [clock, ALGIERS, FULL, deadlines(clock, ALGIERS, FULL)]
    types = [SlaClock, BusinessCalendar, SlaTargets, Deadlines]

    async def round_trip():
        payloads = await pydantic_data_converter.encode(values)
        return await pydantic_data_converter.decode(payloads, types)

    assert asyncio.run(round_trip()) == values
