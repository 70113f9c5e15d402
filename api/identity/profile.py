"""Choices a person makes about themselves (language, time zone), offered and checked the same
way on the profile page and in the admin console."""

from __future__ import annotations

import zoneinfo
from functools import cache

import i18n
from i18n import N_

# The zones people here live in, the installation's own first; every other zone follows.
COMMON_TIME_ZONES: tuple[str, ...] = (
    "Africa/Algiers",
    "Africa/Tunis",
    "Africa/Casablanca",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Europe/Paris",
    "Europe/London",
    "Europe/Brussels",
    "Europe/Madrid",
    "Europe/Berlin",
    "Europe/Istanbul",
    "Asia/Riyadh",
    "Asia/Dubai",
    "Asia/Shanghai",
    "America/Toronto",
    "America/New_York",
    "UTC",
)


@cache
def all_time_zones() -> frozenset[str]:
    """IANA zones a person may live in (no `Etc/GMT+1` aliases, no legacy `SystemV/…`)."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/", "US/"))
    ) | {"UTC"}


def time_zone_choices() -> list[str]:
    common = list(COMMON_TIME_ZONES)
    return common + sorted(all_time_zones() - set(common))


def check_time_zone(value: str, errors: dict) -> str:
    if value not in all_time_zones():
        errors["time_zone"] = (N_("Choose a time zone from the list."), {})
    return value


def check_locale(value: str, errors: dict) -> str:
    if value not in i18n.SUPPORTED:
        errors["locale"] = (N_("Choose a language from the list."), {})
    return value
