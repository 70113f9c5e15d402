"""French and English: gettext catalogs (`locales/<lang>/LC_MESSAGES/messages.po`) and formatting.

Catalogs are compiled in memory when first used, so there is no `.mo` build artefact to forget.
English is the source language: its catalog is the identity.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, negotiate_locale
from babel.dates import (
    DateTimePattern,
    get_date_format,
    get_datetime_format,
    get_month_names,
    get_time_format,
    parse_pattern,
)
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("fr", "en")
NAMES = {"fr": "Français", "en": "English"}
# Arabic joins this list once its catalog exists; `dir` is already driven by the locale.
RTL = frozenset({"ar"})


@lru_cache
def translations(locale: str) -> NullTranslations:
    po_file = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def N_(message: str) -> str:
    """Mark a literal for extraction (`pybabel extract -k N_`) without translating it yet: for
    messages kept in module-level tables and translated with the request's locale when used."""
    return message


def localise(locale: str, message: str, **variables: object) -> str:
    text = translations(locale).gettext(message)
    return text % variables if variables else text


def from_accept_language(header: str | None, default: str) -> str:
    """The best supported locale for an Accept-Language header (quality values honoured)."""
    if not header:
        return default
    preferred = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferred.append((quality, tag.strip().replace("_", "-")))
    ordered = [tag for _, tag in sorted(preferred, key=lambda item: -item[0])]
    return negotiate_locale(ordered, SUPPORTED, sep="-") or default


# Cached: a page formats dozens of dates and amounts, and parsing the locale each time was a
# measurable share of rendering the ticket queue (bench.tickets, section 4).
@lru_cache
def babel_locale(locale: str) -> Locale:
    # Algerian conventions (DZD, "1 234 567,89 DA") for French; English keeps its own.
    return Locale.parse("fr_DZ" if locale == "fr" else "en")


@lru_cache
def babel_date_locale(locale: str) -> Locale:
    # CLDR gives fr_DZ a 12-hour clock; French as written in Algeria uses 24 hours, like fr_FR.
    return Locale.parse("fr_FR" if locale == "fr" else "en_GB")


NAMED_FORMATS = ("full", "long", "medium", "short")


def format_datetime(value: datetime, format: str, time_zone: str, locale: str) -> str:
    """What `babel.dates.format_datetime` writes for a named format. A queue page formats over
    a hundred dates: the locale's patterns are looked up once, and a pattern made only of
    numbers and month names (the short and medium formats) is compiled to one `str.format`
    template, about a fifth of babel's time. Naive values are UTC, as babel takes them."""
    date_locale = babel_date_locale(locale)
    if format not in NAMED_FORMATS:
        return babel_format_datetime(value, format, tzinfo=time_zone, locale=date_locale)
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(_zone(time_zone))
    template = _compiled(format, date_locale)
    if template is not None:
        return template.format(moment, _month_names(date_locale)[moment.month])
    combined, time_pattern, date_pattern = _datetime_patterns(format, date_locale)
    # As babel does: the time part formatted from a time (with the date kept for the zone's
    # name), the date part from the date.
    time_text = time_pattern.apply(moment.timetz(), date_locale, reference_date=moment.date())
    return combined.replace("{0}", time_text).replace(
        "{1}", date_pattern.apply(moment.date(), date_locale)
    )


@lru_cache
def _datetime_patterns(format: str, locale: Locale) -> tuple[str, DateTimePattern, DateTimePattern]:
    return (
        get_datetime_format(format, locale=locale).replace("'", ""),
        parse_pattern(get_time_format(format, locale=locale)),
        parse_pattern(get_date_format(format, locale=locale)),
    )


# Pattern fields (letter, widths) written as babel writes them: numbers zero-padded to the
# field's width, from the datetime's attribute, and the month's abbreviated or wide name.
_NUMBERS = {"d": "day", "M": "month", "y": "year", "H": "hour", "m": "minute", "s": "second"}
_FIELD = re.compile(r"%\((\w+)\)s")


@lru_cache
def _compiled(format: str, locale: Locale) -> str | None:
    """A `str.format` template of the named format over (datetime, abbreviated month name), or
    None when one of its fields is not a number or that name (weekdays, zone names: babel
    writes those)."""
    combined, time_pattern, date_pattern = _datetime_patterns(format, locale)
    parts = {"{0}": _template(time_pattern), "{1}": _template(date_pattern)}
    if None in parts.values():
        return None
    pieces = re.split(r"(\{[01]\})", combined)
    return "".join(parts.get(piece) or _literal(piece) for piece in pieces)


def _template(pattern: DateTimePattern) -> str | None:
    pieces = _FIELD.split(pattern.format)  # literal, field name, literal, …, literal
    fields = [_template_field(name) for name in pieces[1::2]]
    if None in fields:
        return None
    literals = [_literal(text.replace("%%", "%")) for text in pieces[0::2]]
    return "".join(literal + field for literal, field in zip(literals, [*fields, ""], strict=True))


def _template_field(name: str) -> str | None:
    letter, width = name[0], len(name)
    if name == "MMM":
        return "{1}"
    if letter not in _NUMBERS or (width > 2 and letter != "y") or name == "yy":
        return None
    return f"{{0.{_NUMBERS[letter]}:0{width}d}}"


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@lru_cache
def _month_names(locale: Locale) -> dict[int, str]:
    return dict(get_month_names("abbreviated", "format", locale))


@lru_cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def text_direction(locale: str) -> str:
    return "rtl" if locale in RTL else "ltr"
