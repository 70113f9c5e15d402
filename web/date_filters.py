"""Day filters of the lists (audit log, tickets): a day typed as 2026-03-31 means that day where
the reader lives, so the reader's time zone comes with it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request

from api.access import Principal
from api.settings import Settings
from web.templating import translate


def viewer_zone(principal: Principal, settings: Settings) -> ZoneInfo:
    """The reader's own time zone (a profile setting), else the installation's."""
    try:
        return ZoneInfo(principal.user.time_zone or settings.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.time_zone)


def read_day(raw: str, name: str, errors: dict, request: Request) -> date | None:
    """The day typed in field `name`, or None when empty; a wrong one is explained in `errors`."""
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors[name] = translate(request, "Enter a date like 2026-03-31.")
        return None


def check_day_order(
    first: date | None, last: date | None, errors: dict, request: Request, name: str = "to"
) -> None:
    """An end day before the start day is explained next to the end field."""
    if first and last and last < first:
        errors[name] = translate(request, "The end date is before the start date.")


def day_bounds(
    first: date | None, last: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """[start of `first`, start of the day after `last`) where the reader lives."""
    start = datetime.combine(first, time.min, zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min, zone) if last else None
    return start, end
