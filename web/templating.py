"""Jinja templates for the three areas, and the one rule for htmx: the same URL serves the full
page, or, for an htmx request that is not boosted navigation, only the block the caller swaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2_fragments.fastapi import Jinja2Blocks
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
    locale = i18n.babel_date_locale(locale_of(context["request"]))
    return format_timedelta(abs(value), format="short", locale=locale)


def _utc_now() -> datetime:
    return datetime.now(UTC)


templates.env.globals.update(
    _=_gettext,
    gettext=_gettext,
    ngettext=_ngettext,
    LANGUAGES=i18n.NAMES,
    BACKUP_CODE_COUNT=BACKUP_CODE_COUNT,
    TICKET_LABELS=TICKET_LABELS,
    CUSTOMER_LABELS=CUSTOMER_LABELS,
    KYC_REQUIREMENTS=KYC_REQUIREMENTS,
    TICKET_STATE_TYPE=TICKET_STATE_TYPE,  # status → active / paused / resolved: badge colours
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
    values = {
        **_bound_to(locale),
        "locale": locale,
        "viewer_time_zone": _time_zone_of(request),
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
