"""Algerian identifiers and phone numbers: format checks and the one normal form we store.

Pure functions, no I/O. What a person types is forgiving (spaces, dots and dashes between
digits, lower-case letters); what we store is strict, so that uniqueness means something.

The rules applied:
- NIF (numéro d'identification fiscale, DGI): 15 digits for a legal entity; the 20-digit form
  the DGI gives some natural persons is accepted too. Nothing else.
- NIS (numéro d'identification statistique, ONS): 15 digits.
- RC (registre de commerce, CNRC): `WW/SS-NNNNNNN L YY` — the wilaya's two digits, a slash, two
  digits, a dash, seven digits, `A` (natural person) or `B` (legal entity), the year's two
  digits. Stored without spaces and upper-case: `16/00-1234567B21`.
- Article d'imposition: 11 digits.
- National identification number (NIN, biometric identity card): 18 digits.
- Phone: stored in E.164 (`+213…`). A national number (a 0 then 8 or 9 digits) is Algerian;
  a `+` or `00` prefix keeps its own country code (a "(0)" after it is dropped); 8 to 15
  digits after the `+`.
Format only: none of these carries a check digit that is published, so a well-formed number can
still be wrong; the KYC documents are what prove it.
"""

from __future__ import annotations

import re

from i18n import N_

_SEPARATORS = re.compile(r"[\s.\-_/]+")
_RC = re.compile(r"(\d{2})/(\d{2})-(\d{7})([AB])(\d{2})")
_E164 = re.compile(r"\+[1-9]\d{7,14}")

DIGITS_MESSAGE = N_("Enter %(count)s digits.")
NIF_MESSAGE = N_("Enter the 15 digits of the NIF (20 for some natural persons).")
RC_MESSAGE = N_("Enter the RC number as on the register, for example 16/00-1234567B21.")
PHONE_MESSAGE = N_("Enter a phone number, for example 0551 23 45 67 or +213 21 12 34 56.")


class InvalidIdentifier(ValueError):
    """`message` is an msgid, translated with `variables` by the page."""

    def __init__(self, message: str, **variables: object) -> None:
        super().__init__(message)
        self.message = message
        self.variables = variables


def _digits(raw: str) -> str:
    return _SEPARATORS.sub("", raw.strip())


def _exactly(raw: str, *counts: int, message: str = DIGITS_MESSAGE) -> str:
    value = _digits(raw)
    if not (value.isascii() and value.isdigit() and len(value) in counts):
        raise InvalidIdentifier(message, count=counts[0])
    return value


def clean_nif(raw: str) -> str:
    return _exactly(raw, 15, 20, message=NIF_MESSAGE)


def clean_nis(raw: str) -> str:
    return _exactly(raw, 15)


def clean_article_imposition(raw: str) -> str:
    return _exactly(raw, 11)


def clean_national_id(raw: str) -> str:
    return _exactly(raw, 18)


def clean_rc(raw: str) -> str:
    # Spaces anywhere are dropped; the slash and the dash are part of the number.
    value = re.sub(r"\s+", "", raw.strip()).upper()
    if not value.isascii() or _RC.fullmatch(value) is None:
        raise InvalidIdentifier(RC_MESSAGE)
    return value


def clean_phone(raw: str) -> str:
    # "+213 (0)21…": the (0) is dialled only from inside the country.
    value = re.sub(r"[\s.\-()/]+", "", raw.strip().replace("(0)", ""))
    if value.startswith("00"):
        value = "+" + value[2:]
    elif value.startswith("0") and value[1:].isdigit() and len(value) in (9, 10):
        value = "+213" + value[1:]
    if not value.isascii() or _E164.fullmatch(value) is None:
        raise InvalidIdentifier(PHONE_MESSAGE)
    return value


CLEANERS = {
    "nif": clean_nif,
    "nis": clean_nis,
    "rc": clean_rc,
    "article_imposition": clean_article_imposition,
    "national_id": clean_national_id,
}
