"""Business calendars (when SLA clocks run) and their holidays.

A calendar is checked by building the `workflows.business_calendar.BusinessCalendar` the SLA
arithmetic will use, so what an admin saves is exactly what a workflow accepts. Exactly one
calendar is the default. A calendar an SLA policy uses cannot be deleted.

Algeria's public holidays are imported from the `holidays` package; the Islamic ones there are
estimates (the dates follow the moon sighting), so they are marked `estimated` for an admin to
confirm or move. Importing a year twice adds nothing: one holiday per calendar and day.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, time

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.identity import profile
from api.support.common import (
    NAME_LIMIT,
    NotFound,
    Refused,
    check_int,
    check_name,
    clear_other_defaults,
    lock_defaults,
    name_taken,
    raise_if,
    record_changes,
)
from db.models import BusinessCalendar, CalendarHoliday, SlaPolicy
from i18n import N_
from workflows import business_calendar

# "08:00", "8:00", "08:00:00" (browsers may add seconds); "24:00" is accepted as an end.
_CLOCK = re.compile(r"(\d{1,2}):([0-5]\d)(?::00)?")
MIN_YEAR, MAX_YEAR = 2000, 2100
# The `holidays` package's languages for Algeria, by our locale.
_HOLIDAY_LANGUAGES = {"fr": "fr", "en": "en_US", "ar": "ar"}


@dataclass
class CalendarForm:
    name: str
    time_zone: str = "Africa/Algiers"
    working_days: list[str] = field(default_factory=list)
    # (start, end) as typed; rows left empty on both sides are ignored.
    hours: list[tuple[str, str]] = field(default_factory=list)
    is_default: bool = False


@dataclass
class HolidayForm:
    day: str
    name: str
    estimated: bool = False


def snapshot(calendar: BusinessCalendar) -> dict:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "working_days": sorted(calendar.working_days),
        "hours": calendar.hours,
        "is_default": calendar.is_default,
    }


def holiday_snapshot(holiday: CalendarHoliday) -> dict:
    return {"day": holiday.day.isoformat(), "name": holiday.name, "estimated": holiday.estimated}


async def find_calendar(
    db: AsyncSession, calendar_id: uuid.UUID, *, for_update: bool = False
) -> BusinessCalendar:
    query = select(BusinessCalendar).where(BusinessCalendar.id == calendar_id)
    calendar = await db.scalar(query.with_for_update() if for_update else query)
    if calendar is None:
        raise NotFound(calendar_id)
    return calendar


def _clock(raw: str, *, end: bool) -> str | None:
    """ "HH:MM", or None when it is not a time of day. An interval may end at 24:00, stored as
    "00:00" (midnight at the end of the day), which is how BusinessCalendar reads it."""
    match = _CLOCK.fullmatch(raw.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if end and hour == 24 and minute == 0:
        return "00:00"
    return f"{hour:02d}:{minute:02d}" if hour < 24 else None


def _hours(rows: list[tuple[str, str]], errors: dict) -> list[list[str]]:
    intervals: list[list[str]] = []
    for raw_start, raw_end in rows:
        if not raw_start.strip() and not raw_end.strip():
            continue
        if not raw_start.strip() or not raw_end.strip():
            errors["hours"] = (N_("Give each interval a start and an end."), {})
            return []
        start, end = _clock(raw_start, end=False), _clock(raw_end, end=True)
        if start is None or end is None:
            errors["hours"] = (N_("Enter times as HH:MM, for example 08:00."), {})
            return []
        intervals.append([start, end])
    if not intervals:
        errors["hours"] = (N_("Give at least one interval of business hours."), {})
    return sorted(intervals)


def _days(raw: list[str], errors: dict) -> list[int]:
    if not all(value in {str(day) for day in range(7)} for value in raw):
        errors["working_days"] = (N_("Choose days from the list."), {})
        return []
    days = sorted({int(value) for value in raw})
    if not days:
        errors["working_days"] = (N_("Choose at least one working day."), {})
    return days


def as_business_calendar(
    calendar: BusinessCalendar, holidays: frozenset[date] = frozenset()
) -> business_calendar.BusinessCalendar:
    """The stored calendar as the SLA arithmetic takes it."""
    return _workflow_calendar(calendar.time_zone, calendar.working_days, calendar.hours, holidays)


def _workflow_calendar(
    time_zone: str, days: list[int], hours: list[list[str]], holidays: frozenset[date]
) -> business_calendar.BusinessCalendar:
    return business_calendar.BusinessCalendar(
        time_zone=time_zone,
        working_days=frozenset(days),
        hours=tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in hours),
        holidays=holidays,
    )


async def _check(db: AsyncSession, form: CalendarForm, current: BusinessCalendar | None) -> dict:
    errors: dict = {}
    name = check_name(form.name, "name", errors)
    if "name" not in errors and await name_taken(
        db, BusinessCalendar, name, current.id if current else None
    ):
        errors["name"] = (N_("Another calendar already has this name."), {})
    time_zone = profile.check_time_zone(form.time_zone.strip(), errors)
    days = _days(form.working_days, errors)
    hours = _hours(form.hours, errors)
    if not errors:
        try:  # the workflows' own rules: in order, each ending after it starts, no overlap
            _workflow_calendar(time_zone, days, hours, frozenset())
        except ValueError:
            errors["hours"] = (
                N_("Each interval must end after it starts, and intervals must not overlap."),
                {},
            )
    if current is not None and current.is_default and not form.is_default:
        errors["is_default"] = (
            N_("One calendar is always the default: make another calendar the default instead."),
            {},
        )
    raise_if(errors)
    return {
        "name": name,
        "time_zone": time_zone,
        "working_days": days,
        "hours": hours,
        "is_default": form.is_default,
    }


async def create_calendar(db: AsyncSession, actor: Actor, form: CalendarForm) -> BusinessCalendar:
    await lock_defaults(db, "business_calendars")
    values = await _check(db, form, None)
    if not await db.scalar(select(BusinessCalendar.id).where(BusinessCalendar.is_default).limit(1)):
        values["is_default"] = True  # the first calendar is the default
    calendar = BusinessCalendar(**values)
    db.add(calendar)
    await db.flush()
    if calendar.is_default:
        await clear_other_defaults(db, BusinessCalendar, calendar.id)
    audit.record(
        db, actor, "business_calendar.created", target_type="business_calendar",
        target_id=calendar.id, after=snapshot(calendar),
    )  # fmt: skip
    return calendar


async def update_calendar(
    db: AsyncSession, actor: Actor, calendar_id: uuid.UUID, form: CalendarForm
) -> BusinessCalendar:
    await lock_defaults(db, "business_calendars")
    calendar = await find_calendar(db, calendar_id, for_update=True)
    values = await _check(db, form, calendar)
    before = snapshot(calendar)
    for key, value in values.items():
        setattr(calendar, key, value)
    if calendar.is_default and not before["is_default"]:
        await clear_other_defaults(db, BusinessCalendar, calendar.id)
    record_changes(
        db, actor, "business_calendar.updated", "business_calendar", calendar.id,
        before, snapshot(calendar),
    )  # fmt: skip
    return calendar


async def policies_using(db: AsyncSession, calendar_id: uuid.UUID) -> int:
    count = await db.scalar(select(func.count()).where(SlaPolicy.calendar_id == calendar_id))
    return int(count or 0)


async def delete_calendar(db: AsyncSession, actor: Actor, calendar_id: uuid.UUID) -> None:
    calendar = await find_calendar(db, calendar_id, for_update=True)
    if calendar.is_default:
        raise Refused(
            N_("The default calendar cannot be deleted: make another calendar the default.")
        )
    if await policies_using(db, calendar.id):
        raise Refused(
            N_("SLA policies use this calendar: give them another calendar before deleting it.")
        )
    before = snapshot(calendar)
    await db.delete(calendar)
    await db.flush()
    audit.record(
        db, actor, "business_calendar.deleted", target_type="business_calendar",
        target_id=calendar_id, before=before,
    )  # fmt: skip


# -- holidays ------------------------------------------------------------------------------------


async def holidays_of(db: AsyncSession, calendar_id: uuid.UUID) -> list[CalendarHoliday]:
    return list(
        await db.scalars(
            select(CalendarHoliday)
            .where(CalendarHoliday.calendar_id == calendar_id)
            .order_by(CalendarHoliday.day)
        )
    )


async def find_holiday(
    db: AsyncSession, calendar_id: uuid.UUID, holiday_id: uuid.UUID
) -> CalendarHoliday:
    holiday = await db.scalar(
        select(CalendarHoliday).where(
            CalendarHoliday.id == holiday_id, CalendarHoliday.calendar_id == calendar_id
        )
    )
    if holiday is None:
        raise NotFound(holiday_id)
    return holiday


async def _check_holiday(
    db: AsyncSession, calendar_id: uuid.UUID, form: HolidayForm, except_id: uuid.UUID | None
) -> dict:
    errors: dict = {}
    day: date | None = None
    try:
        day = date.fromisoformat(form.day.strip())
    except ValueError:
        errors["day"] = (N_("Enter a date, for example 2026-11-01."), {})
    else:
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            errors["day"] = (
                N_("Choose a date between %(first)s and %(last)s."),
                {"first": MIN_YEAR, "last": MAX_YEAR},
            )
    name = check_name(form.name, "name", errors)
    if "day" not in errors:
        same_day = select(CalendarHoliday.name).where(
            CalendarHoliday.calendar_id == calendar_id, CalendarHoliday.day == day
        )
        if except_id is not None:
            same_day = same_day.where(CalendarHoliday.id != except_id)
        existing = await db.scalar(same_day)
        if existing is not None:
            errors["day"] = (N_("This day is already a holiday: %(name)s."), {"name": existing})
    raise_if(errors)
    return {"day": day, "name": name, "estimated": form.estimated}


async def add_holiday(
    db: AsyncSession, actor: Actor, calendar_id: uuid.UUID, form: HolidayForm
) -> CalendarHoliday:
    calendar = await find_calendar(db, calendar_id, for_update=True)
    values = await _check_holiday(db, calendar.id, form, None)
    holiday = CalendarHoliday(calendar_id=calendar.id, **values)
    db.add(holiday)
    await db.flush()
    audit.record(
        db, actor, "business_calendar.holiday_added", target_type="business_calendar",
        target_id=calendar.id, after=holiday_snapshot(holiday),
    )  # fmt: skip
    return holiday


async def update_holiday(
    db: AsyncSession, actor: Actor, calendar_id: uuid.UUID, holiday_id: uuid.UUID,
    form: HolidayForm,
) -> CalendarHoliday:  # fmt: skip
    calendar = await find_calendar(db, calendar_id, for_update=True)
    holiday = await find_holiday(db, calendar.id, holiday_id)
    values = await _check_holiday(db, calendar.id, form, holiday.id)
    before = holiday_snapshot(holiday)
    for key, value in values.items():
        setattr(holiday, key, value)
    after = holiday_snapshot(holiday)
    if before != after:
        audit.record(
            db, actor, "business_calendar.holiday_updated", target_type="business_calendar",
            target_id=calendar.id, before=before, after=after,
        )  # fmt: skip
    return holiday


async def delete_holiday(
    db: AsyncSession, actor: Actor, calendar_id: uuid.UUID, holiday_id: uuid.UUID
) -> date:
    """Returns the day that stops being a holiday."""
    calendar = await find_calendar(db, calendar_id, for_update=True)
    holiday = await find_holiday(db, calendar.id, holiday_id)
    before, day = holiday_snapshot(holiday), holiday.day
    await db.delete(holiday)
    await db.flush()
    audit.record(
        db, actor, "business_calendar.holiday_deleted", target_type="business_calendar",
        target_id=calendar.id, before=before,
    )  # fmt: skip
    return day


def algerian_public_holidays(year: int, locale: str = "fr") -> list[tuple[date, str, bool]]:
    """(day, name, estimated) of Algeria's public holidays in `year`, the same data as
    `workflows.business_calendar.algerian_holidays()` with names. A day is estimated when the
    package says so, which it does by naming it differently when asked to show estimates."""
    import holidays  # only the admin pages and the bootstrap need it

    language = _HOLIDAY_LANGUAGES.get(locale, "fr")
    shown = holidays.country_holidays("DZ", years=[year], language=language)
    plain = holidays.country_holidays(
        "DZ", years=[year], language=language, islamic_show_estimated=False
    )
    return [
        (day, plain.get(day, name)[:NAME_LIMIT], name != plain.get(day, name))
        for day, name in sorted(shown.items())
    ]


async def insert_public_holidays(
    db: AsyncSession, calendar_id: uuid.UUID, year: int, locale: str = "fr"
) -> int:
    """Add the year's holidays that the calendar lacks; returns how many were added. A day the
    calendar already has (imported before, or entered by hand) stays as it is."""
    rows = [
        {"calendar_id": calendar_id, "day": day, "name": name, "estimated": estimated}
        for day, name, estimated in algerian_public_holidays(year, locale)
    ]
    if not rows:
        return 0
    added = await db.execute(
        insert(CalendarHoliday)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["calendar_id", "day"])
        .returning(CalendarHoliday.id)
    )
    return len(added.all())


async def import_public_holidays(
    db: AsyncSession, actor: Actor, calendar_id: uuid.UUID, raw_year: str, locale: str = "fr"
) -> int:
    calendar = await find_calendar(db, calendar_id, for_update=True)
    errors: dict = {}
    year = check_int(raw_year, "year", errors, minimum=MIN_YEAR, maximum=MAX_YEAR)
    raise_if(errors)
    added = await insert_public_holidays(db, calendar.id, year, locale)
    audit.record(
        db, actor, "business_calendar.holidays_imported", target_type="business_calendar",
        target_id=calendar.id, after={"year": year, "added": added},
    )  # fmt: skip
    return added
