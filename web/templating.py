"""Jinja templates for the three areas, and the one rule for htmx: the same URL serves the full
page, or, for an htmx request that is not boosted navigation, only the block the caller swaps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

import i18n
from api.identity.totp import BACKUP_CODE_COUNT
from web.customer_labels import CUSTOMER_LABELS
from web.flash import consume_flashes, pending_flashes
from web.ticket_labels import TICKET_LABELS
from workflows.kyc_rules import REQUIREMENTS as KYC_REQUIREMENTS
from workflows.ticket_rules import STATE_TYPE as TICKET_STATE_TYPE

TEMPLATES_DIR = Path(__file__).parent / "templates"

templates = Jinja2Blocks(
    env=Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def locale_of(request: Request) -> str:
    return getattr(request.state, "locale", None) or request.app.state.settings.default_locale


def translate(request: Request, message: str, **variables: Any) -> str:
    return i18n.localise(locale_of(request), message, **variables)


@pass_context
def _gettext(context, message: str, **variables: Any) -> str:
    return translate(context["request"], message, **variables)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int, **variables: Any) -> str:
    text = i18n.translations(locale_of(context["request"])).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


@pass_context
def _format_money(context, amount: Decimal | int | str, currency: str = "DZD") -> str:
    locale = i18n.babel_locale(locale_of(context["request"]))
    return format_currency(Decimal(str(amount)), currency, locale=locale)


@pass_context
def _format_number(context, value: Decimal | int | float) -> str:
    return format_decimal(value, locale=i18n.babel_locale(locale_of(context["request"])))


def _time_zone_of(request: Request) -> str:
    # The user's own zone when signed in (a profile setting), else the installation's.
    user = getattr(request.state, "user", None)
    return getattr(user, "time_zone", None) or request.app.state.settings.time_zone


@pass_context
def _format_datetime(context, value: datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    # `render` resolves the viewer's zone and locale once per page (the queue formats over a
    # hundred dates); a template rendered otherwise finds them from its request.
    zone, locale = context.get("viewer_time_zone"), context.get("locale")
    if zone is None or locale is None:
        zone, locale = _time_zone_of(context["request"]), locale_of(context["request"])
    return i18n.format_datetime(value, format, zone, locale)


@pass_context
def _format_duration(context, value: timedelta) -> str:
    """A length of time, short and rounded the way people say it: "2 h", "3 j", "50 min"."""
    return duration_words(value, context.get("locale") or locale_of(context["request"]))


def duration_words(value: timedelta, locale: str) -> str:
    seconds = round(abs(value).total_seconds())
    # To the minute beyond one (no wording shows seconds then), so that the words are cached:
    # babel takes longer over them than over a date.
    return _duration_words(seconds if seconds < 60 else round(seconds / 60) * 60, locale)


@lru_cache(maxsize=4096)
def _duration_words(seconds: int, locale: str) -> str:
    return format_timedelta(
        timedelta(seconds=seconds), format="short", locale=i18n.babel_date_locale(locale)
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


_SLA_KIND = {"breached": "danger", "at_risk": "warning"}


class TicketBadges:
    """A ticket's status, priority and SLA badges, for one page (`render` puts them in every
    page's context as `ticket_badges`). Python rather than macros, and bound to the page rather
    than given the template's context: the queue draws three per row, and either a macro call or
    a call that takes the context (Jinja copies the context for it inside a loop) cost more than
    the rest of the row (bench.tickets (4))."""

    def __init__(self, gettext: Callable[..., str], locale: str, time_zone: str) -> None:
        self._gettext = gettext
        self._locale = locale
        self._time_zone = time_zone

    def _label(self, vocabulary: str, value: str) -> Markup:
        words = TICKET_LABELS[vocabulary]
        return escape(self._gettext(words[value]) if value in words else value)

    # Each value goes into the HTML through escape() (S704 cannot see it): f-strings, because
    # Markup.format's pure-Python formatter took as long as the macros, and `Markup % values`
    # four times as long as this.

    def status(self, status: str) -> Markup:
        """The colour follows the status's *type* (active / paused / resolved, from
        workflows.ticket_rules), the words the status itself."""
        state_type = escape(TICKET_STATE_TYPE.get(status, "active"))
        label = self._label("status", status)
        return Markup(f'<span class="badge badge-state-{state_type}">{label}</span>')  # noqa: S704

    def priority(self, priority: str) -> Markup:
        label = self._label("priority", priority)
        return Markup(f'<span class="badge badge-priority-{escape(priority)}">{label}</span>')  # noqa: S704

    def sla(self, state: str, due: datetime | None = None, paused: bool = False) -> Markup:
        """On time / at risk / breached, with the time left or how long overdue ("2 h left",
        "overdue by 3 h") and the exact deadline on hover. `due` is the nearest deadline (None
        once no clock runs); a paused clock says so instead of counting."""
        gettext = self._gettext
        title = detail = ""
        if due:
            deadline = i18n.format_datetime(due, "medium", self._time_zone, self._locale)
            # Not inside the f-strings: pybabel does not look for messages there.
            due_words = escape(gettext("Due %(time)s", time=deadline))
            title = f' title="{due_words}"'
        if paused:
            paused_words = escape(gettext("paused"))
            detail = f'<span class="badge-detail">{paused_words}</span>'
        elif due:
            left = due - _utc_now()
            time = duration_words(left, self._locale)
            if left.total_seconds() >= 0:
                words = escape(gettext("%(time)s left", time=time))
            else:
                words = escape(gettext("overdue by %(time)s", time=time))
            detail = f'<time class="badge-detail" datetime="{due.isoformat()}">{words}</time>'
        kind = _SLA_KIND.get(state, "ok")
        label = self._label("sla", state)
        return Markup(f'<span class="badge badge-sla badge-{kind}"{title}>{label}{detail}</span>')  # noqa: S704


templates.env.globals.update(
    _=_gettext,
    gettext=_gettext,
    ngettext=_ngettext,
    LANGUAGES=i18n.NAMES,
    BACKUP_CODE_COUNT=BACKUP_CODE_COUNT,
    TICKET_LABELS=TICKET_LABELS,
    CUSTOMER_LABELS=CUSTOMER_LABELS,
    KYC_REQUIREMENTS=KYC_REQUIREMENTS,
    utc_now=_utc_now,  # "time left" and "overdue by" are computed at render time
)
templates.env.filters.update(money=_format_money, number=_format_number, datetime=_format_datetime)
templates.env.filters.update(duration=_format_duration)


def _bound_to(locale: str) -> dict[str, Any]:
    """`_`, `gettext` and `ngettext` for one page, its catalog looked up once: the globals
    above find the request's locale again on every call, a few hundred times on the ticket
    queue. Same text; the globals remain for templates rendered without `render`."""
    catalog = i18n.translations(locale)

    def gettext(message: str, **variables: Any) -> str:
        text = catalog.gettext(message)
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
        return catalog.ngettext(singular, plural, n) % {"num": n, **variables}

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def is_fragment_request(request: Request) -> bool:
    # Boosted navigation wants the whole page; any other htmx request wants a fragment.
    return (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    """The full page, or only `block` when htmx asked for a fragment."""
    locale = locale_of(request)
    page_gettext = _bound_to(locale)
    time_zone = _time_zone_of(request)
    values = {
        **page_gettext,
        "locale": locale,
        "viewer_time_zone": time_zone,
        "ticket_badges": TicketBadges(page_gettext["_"], locale, time_zone),
        "direction": i18n.text_direction(locale),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flashes": pending_flashes(request),
        "settings": request.app.state.settings,
        **(context or {}),
    }
    fragment = block if block and is_fragment_request(request) else None
    response = templates.TemplateResponse(
        request, template, values, status_code=status_code, block_name=fragment
    )
    if fragment is None:
        consume_flashes(request, response)
    return response
