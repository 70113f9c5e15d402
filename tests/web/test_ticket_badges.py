"""Ticket badges (web.templating.TicketBadges): the words in the page's language, the time left
or overdue, the deadline on hover, and every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import i18n
from web.templating import TicketBadges, duration_words


def badges(locale: str) -> TicketBadges:
    catalog = i18n.translations(locale)

    def gettext(message: str, **variables) -> str:
        text = catalog.gettext(message)
        return text % variables if variables else text

    return TicketBadges(gettext, locale, "Africa/Algiers")


def test_status_and_priority_are_in_the_page_language_with_their_colour():
    assert badges("fr").status("waiting_on_customer") == (
        '<span class="badge badge-state-paused">En attente du client</span>'
    )
    assert badges("en").priority("urgent") == (
        '<span class="badge badge-priority-urgent">Urgent</span>'
    )


def test_an_unknown_value_is_shown_escaped():
    assert badges("en").status('<img src=x onerror="x">') == (
        '<span class="badge badge-state-active">&lt;img src=x onerror=&#34;x&#34;&gt;</span>'
    )
    assert "<b>" not in badges("en").priority("<b>")


def test_the_sla_badge_says_the_time_left_or_overdue_and_the_deadline_on_hover():
    due = datetime.now(UTC) + timedelta(hours=2, minutes=10)
    on_time = badges("fr").sla("ok", due)
    assert on_time.startswith('<span class="badge badge-sla badge-ok" title="Échéance : ')
    assert ">reste 2\u202fh</time>" in on_time  # CLDR's narrow no-break space
    assert f'datetime="{due.isoformat()}"' in on_time

    late = badges("en").sla("breached", datetime.now(UTC) - timedelta(hours=3, minutes=5))
    assert 'class="badge badge-sla badge-danger"' in late
    assert ">overdue by 3 hrs</time>" in late

    paused = badges("en").sla("at_risk", due, paused=True)
    assert "badge-warning" in paused
    assert '<span class="badge-detail">paused</span>' in paused
    assert "<time" not in paused


def test_durations_are_worded_to_the_minute_and_seconds_below_one():
    assert duration_words(timedelta(seconds=42), "en") == "42 secs"
    assert duration_words(timedelta(minutes=50, seconds=20), "en") == "50 mins"
    assert duration_words(-timedelta(days=3), "fr") == "3\u202fj"
