"""French and English: gettext catalogs (`locales/<lang>/LC_MESSAGES/messages.po`) and formatting.

Catalogs are compiled in memory when first used, so there is no `.mo` build artefact to forget.
English is the source language: its catalog is the identity.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel import Locale, negotiate_locale
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


def babel_locale(locale: str) -> Locale:
    # Algerian conventions (DZD, "1 234 567,89 DA") for French; English keeps its own.
    return Locale.parse("fr_DZ" if locale == "fr" else "en")


def babel_date_locale(locale: str) -> Locale:
    # CLDR gives fr_DZ a 12-hour clock; French as written in Algeria uses 24 hours, like fr_FR.
    return Locale.parse("fr_FR" if locale == "fr" else "en_GB")


def text_direction(locale: str) -> str:
    return "rtl" if locale in RTL else "ltr"
