"""Dates as pages show them: the cached formatter writes exactly what babel writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from babel.dates import format_datetime as babel_format_datetime
from hypothesis import given
from hypothesis import strategies as st

import i18n

ZONES = ("Africa/Algiers", "Europe/Paris", "America/New_York", "UTC")
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=1))]),
)  # fmt: skip


@given(
    moment=moments,
    format=st.sampled_from((*i18n.NAMED_FORMATS, "yyyy-MM-dd HH:mm")),
    zone=st.sampled_from(ZONES),
    locale=st.sampled_from(("fr", "en")),
)
def test_the_cached_formatter_writes_what_babel_writes(moment, format, zone, locale):
    expected = babel_format_datetime(
        moment, format, tzinfo=zone, locale=i18n.babel_date_locale(locale)
    )
    assert i18n.format_datetime(moment, format, zone, locale) == expected


def test_a_naive_value_is_utc_and_french_uses_a_24_hour_clock():
    naive = datetime(2026, 7, 5, 13, 30)
    assert i18n.format_datetime(naive, "short", "Africa/Algiers", "fr") == "05/07/2026 14:30"
    assert i18n.format_datetime(naive, "short", "Africa/Algiers", "en") == "05/07/2026, 14:30"
