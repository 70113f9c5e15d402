"""Admin console, Support › business calendars (/admin/support/calendars): working days and
hours, the default calendar, and each calendar's holidays by year (added, corrected, deleted,
or imported from Algeria's public holidays)."""

from __future__ import annotations

import uuid
from datetime import date

from babel.dates import format_date, get_day_names
from fastapi import APIRouter, Request
from starlette.responses import Response

import i18n
from api.identity import profile
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from api.support import calendars
from api.support.common import Refused
from db.models import BusinessCalendar, CalendarHoliday
from db.queries.support import calendar_rows
from web.forms import field_errors, id_or_404, refusal
from web.support_pages import (
    WEEKDAYS,
    Choices,
    Editor,
    Flag,
    Text,
    Viewer,
    back_to,
    missing_is_404,
)
from web.templating import locale_of, render, translate

router = APIRouter(prefix="/calendars")
LIST = "/admin/support/calendars"
HOUR_ROWS = 4  # interval rows the form offers: enough for a morning, an afternoon and more


def weekday_names(request: Request) -> dict[int, str]:
    """Monday 0 … Sunday 6 in the reader's language, from CLDR (no message to translate)."""
    names = get_day_names("wide", locale=i18n.babel_date_locale(locale_of(request)))
    return {day: names[day] for day in WEEKDAYS}


def day_formatter(request: Request):
    """A holiday's date in full ("dimanche 1 novembre 2026"): the weekday matters here."""
    locale = i18n.babel_date_locale(locale_of(request))
    return lambda day: format_date(day, "full", locale=locale)


@router.get("")
async def calendars_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/support/calendars/index.html",
        {"principal": principal, "rows": await calendar_rows(db), "days": weekday_names(request)},
    )


def _form_of(calendar: BusinessCalendar) -> dict:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "working_days": [str(day) for day in calendar.working_days],
        "hours": [tuple(pair) for pair in calendar.hours],
        "is_default": calendar.is_default,
    }


def _with_empty_rows(hours: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [*hours, *[("", "")] * max(1, HOUR_ROWS - len(hours))]


def _year(raw: str, holidays: list[CalendarHoliday]) -> tuple[int, list[int]]:
    """The year to show (asked for, else this one) and the years there is something to show."""
    this_year = date.today().year
    years = sorted({holiday.day.year for holiday in holidays} | {this_year, this_year + 1})
    year = int(raw) if raw.isdigit() and int(raw) in years else this_year
    return year, years


async def _page(
    request: Request, db, principal, *, calendar: BusinessCalendar | None, form: dict,
    errors: dict | None = None, status_code: int = 200, refused: str = "", year: str = "",
    holiday_form: dict | None = None, holiday_errors: dict | None = None,
    import_errors: dict | None = None,
) -> Response:  # fmt: skip
    holidays = await calendars.holidays_of(db, calendar.id) if calendar else []
    shown_year, years = _year(year, holidays)
    return render(
        request,
        "admin/support/calendars/form.html",
        {
            "principal": principal,
            "calendar": calendar,
            "form": {**form, "hours": _with_empty_rows(form["hours"])},
            "errors": errors or {},
            "refused": refused,
            "days": weekday_names(request),
            "format_day": day_formatter(request),
            "time_zones": profile.time_zone_choices(),
            "policies": await calendars.policies_using(db, calendar.id) if calendar else 0,
            "year": shown_year,
            "years": years,
            "holidays": [holiday for holiday in holidays if holiday.day.year == shown_year],
            "holiday_form": holiday_form or {"day": "", "name": "", "estimated": False},
            "holiday_errors": holiday_errors or {},
            "import_errors": import_errors or {},
        },
        status_code=status_code,
    )


def _submitted(
    name: str, time_zone: str, working_days: list[str] | None, hours_start: list[str] | None,
    hours_end: list[str] | None, is_default: str,
) -> calendars.CalendarForm:  # fmt: skip
    starts, ends = hours_start or [], hours_end or []
    rows = max(len(starts), len(ends))
    starts, ends = starts + [""] * (rows - len(starts)), ends + [""] * (rows - len(ends))
    return calendars.CalendarForm(
        name, time_zone, working_days or [], list(zip(starts, ends, strict=True)), bool(is_default)
    )


@router.get("/new")
async def new_calendar(request: Request, principal: Editor, db: SessionDep) -> Response:
    form = {
        "name": "",
        "time_zone": request.app.state.settings.time_zone,
        "working_days": ["6", "0", "1", "2", "3"],
        "hours": [("08:00", "16:30")],
        "is_default": False,
    }
    return await _page(request, db, principal, calendar=None, form=form)


@router.post("/new")
async def create_calendar(
    request: Request, principal: Editor, db: SessionDep, name: Text = "", time_zone: Text = "",
    working_days: Choices = None, hours_start: Choices = None, hours_end: Choices = None,
    is_default: Flag = "",
) -> Response:  # fmt: skip
    submitted = _submitted(name, time_zone, working_days, hours_start, hours_end, is_default)
    try:
        async with db.begin():
            calendar = await calendars.create_calendar(db, actor_of(request), submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, calendar=None, form=vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    message = translate(request, "Calendar %(name)s created: add its holidays.", name=calendar.name)
    return back_to(request, f"{LIST}/{calendar.id}", message)


async def _find(db, calendar_id: uuid.UUID) -> BusinessCalendar:
    with missing_is_404():
        return await calendars.find_calendar(db, calendar_id)


@router.get("/{calendar_id}")
async def calendar_page(
    request: Request, calendar_id: str, principal: Viewer, db: SessionDep, year: str = ""
) -> Response:
    calendar = await _find(db, id_or_404(calendar_id))
    return await _page(
        request, db, principal, calendar=calendar, form=_form_of(calendar), year=year[:4]
    )


@router.post("/{calendar_id}")
async def update_calendar(
    request: Request, calendar_id: str, principal: Editor, db: SessionDep, name: Text = "",
    time_zone: Text = "", working_days: Choices = None, hours_start: Choices = None,
    hours_end: Choices = None, is_default: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(calendar_id)
    submitted = _submitted(name, time_zone, working_days, hours_start, hours_end, is_default)
    try:
        with missing_is_404():
            async with db.begin():
                await calendars.update_calendar(db, actor_of(request), target, submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, calendar=await _find(db, target), form=vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(request, f"{LIST}/{target}", translate(request, "Changes saved."))


@router.post("/{calendar_id}/delete")
async def delete_calendar(request: Request, calendar_id: str, principal: Editor, db: SessionDep):
    target = id_or_404(calendar_id)
    try:
        with missing_is_404():
            async with db.begin():
                await calendars.delete_calendar(db, actor_of(request), target)
    except Refused as refused:
        calendar = await _find(db, target)
        return await _page(
            request, db, principal, calendar=calendar, form=_form_of(calendar),
            status_code=409, refused=refusal(request, refused),
        )  # fmt: skip
    return back_to(request, LIST, translate(request, "Calendar deleted."))


# -- holidays ------------------------------------------------------------------------------------


def _holiday_url(calendar_id: uuid.UUID, day: date) -> str:
    return f"{LIST}/{calendar_id}?year={day.year}#holidays"


@router.post("/{calendar_id}/holidays/import")
async def import_holidays(
    request: Request, calendar_id: str, principal: Editor, db: SessionDep, year: Text = ""
) -> Response:
    target = id_or_404(calendar_id)
    try:
        with missing_is_404():
            async with db.begin():
                added = await calendars.import_public_holidays(
                    db, actor_of(request), target, year, locale_of(request)
                )
    except InputError as problem:
        calendar = await _find(db, target)
        return await _page(
            request, db, principal, calendar=calendar, form=_form_of(calendar),
            import_errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    shown_year = int(year)  # checked by the service
    message = translate(
        request, "Holidays of %(year)s imported: %(added)s added.", added=added, year=shown_year
    )
    return back_to(request, f"{LIST}/{target}?year={shown_year}#holidays", message)


@router.post("/{calendar_id}/holidays")
async def add_holiday(
    request: Request, calendar_id: str, principal: Editor, db: SessionDep, day: Text = "",
    name: Text = "", estimated: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(calendar_id)
    submitted = calendars.HolidayForm(day, name, bool(estimated))
    try:
        with missing_is_404():
            async with db.begin():
                holiday = await calendars.add_holiday(db, actor_of(request), target, submitted)
    except InputError as problem:
        calendar = await _find(db, target)
        return await _page(
            request, db, principal, calendar=calendar, form=_form_of(calendar),
            holiday_form=vars(submitted), holiday_errors=field_errors(request, problem),
            status_code=422,
        )  # fmt: skip
    message = translate(request, "Holiday %(name)s added.", name=holiday.name)
    return back_to(request, _holiday_url(target, holiday.day), message)


async def _holiday_page(
    request: Request, db, principal, calendar: BusinessCalendar, holiday: CalendarHoliday,
    form: dict, errors: dict | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "admin/support/calendars/holiday.html",
        {
            "principal": principal,
            "calendar": calendar,
            "holiday": holiday,
            "form": form,
            "errors": errors or {},
        },
        status_code=status_code,
    )


async def _find_holiday(db, calendar_id: str, holiday_id: str):
    calendar = await _find(db, id_or_404(calendar_id))
    with missing_is_404():
        return calendar, await calendars.find_holiday(db, calendar.id, id_or_404(holiday_id))


@router.get("/{calendar_id}/holidays/{holiday_id}")
async def holiday_page(
    request: Request, calendar_id: str, holiday_id: str, principal: Viewer, db: SessionDep
) -> Response:
    calendar, holiday = await _find_holiday(db, calendar_id, holiday_id)
    form = {"day": holiday.day.isoformat(), "name": holiday.name, "estimated": holiday.estimated}
    return await _holiday_page(request, db, principal, calendar, holiday, form)


@router.post("/{calendar_id}/holidays/{holiday_id}")
async def update_holiday(
    request: Request, calendar_id: str, holiday_id: str, principal: Editor, db: SessionDep,
    day: Text = "", name: Text = "", estimated: Flag = "",
) -> Response:  # fmt: skip
    target, holiday_target = id_or_404(calendar_id), id_or_404(holiday_id)
    submitted = calendars.HolidayForm(day, name, bool(estimated))
    try:
        with missing_is_404():
            async with db.begin():
                holiday = await calendars.update_holiday(
                    db, actor_of(request), target, holiday_target, submitted
                )
    except InputError as problem:
        calendar, holiday = await _find_holiday(db, calendar_id, holiday_id)
        return await _holiday_page(
            request, db, principal, calendar, holiday, vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(request, _holiday_url(target, holiday.day), translate(request, "Changes saved."))


@router.post("/{calendar_id}/holidays/{holiday_id}/delete")
async def delete_holiday(
    request: Request, calendar_id: str, holiday_id: str, principal: Editor, db: SessionDep
) -> Response:
    target = id_or_404(calendar_id)
    with missing_is_404():
        async with db.begin():
            day = await calendars.delete_holiday(
                db, actor_of(request), target, id_or_404(holiday_id)
            )
    return back_to(request, _holiday_url(target, day), translate(request, "Holiday deleted."))
