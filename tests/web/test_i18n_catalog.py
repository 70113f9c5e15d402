"""The message catalogs: the .pot matches the sources, and French translates every message.

When a test here fails after you added or changed a message, regenerate as babel.cfg explains:
`pybabel extract … -o i18n/locales/messages.pot …` then `pybabel update …`, and translate.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "i18n" / "locales"
POT = LOCALES / "messages.pot"
TRANSLATED = ("fr",)

# Keep in step with the command documented at the top of babel.cfg.
SOURCE_DIRS = ("api", "web", "activities", "i18n", "workflows")
KEYWORDS = ("_", "gettext", "ngettext:1,2", "translate:2", "N_")

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdirf]|%[sdirf]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _messages(catalog: Catalog) -> dict[object, Message]:
    return {message.id: message for message in catalog if message.id}


def _placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text))


def _strings(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_template_is_up_to_date_with_the_sources(tmp_path: Path, monkeypatch) -> None:
    extracted = tmp_path / "messages.pot"
    arguments = ["pybabel", "-q", "extract", "-F", "babel.cfg"]
    arguments += ["--ignore-dirs", ".* __pycache__", "-c", "TRANSLATORS:"]
    for keyword in KEYWORDS:
        arguments += ["-k", keyword]
    arguments += ["-o", str(extracted), *SOURCE_DIRS]
    monkeypatch.chdir(ROOT)  # babel.cfg patterns are relative to the directories listed
    CommandLineInterface().run(arguments)

    fresh = set(_messages(_read(extracted)))
    committed = set(_messages(_read(POT)))
    assert fresh, "extraction found no message at all: is babel.cfg right?"
    assert not fresh - committed, (
        f"messages missing from messages.pot: {sorted(fresh - committed, key=str)}"
    )
    assert not committed - fresh, (
        f"stale messages in messages.pot: {sorted(committed - fresh, key=str)}"
    )


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale: str) -> None:
    template = _messages(_read(POT))
    catalog = _read(LOCALES / locale / "LC_MESSAGES" / "messages.po", locale=locale)
    translated = _messages(catalog)

    assert not set(template) - set(translated), "run `pybabel update` (see babel.cfg)"
    assert not set(translated) - set(template), "the catalog has messages the template lacks"
    problems = []
    for msgid, message in translated.items():
        strings = _strings(message.string)
        if message.fuzzy or not all(text.strip() for text in strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
            continue
        expected = _placeholders(_strings(msgid)[0])
        for text in strings:
            if _placeholders(text) != expected:
                problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
    problems += [
        f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_loads_and_formats(locale: str) -> None:
    i18n.translations.cache_clear()
    assert i18n.localise(locale, "Admin console") != "Admin console"
    sample = "Test message queued for %(to)s."
    assert "ops@example.dz" in i18n.localise(locale, sample, to="ops@example.dz")
