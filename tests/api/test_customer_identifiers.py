"""Algerian identifiers and phone numbers: what is accepted, in which normal form, and what is
refused (the rules are stated in api/customer_identifiers.py)."""

from __future__ import annotations

import pytest

from api.customer_identifiers import (
    CLEANERS,
    InvalidIdentifier,
    clean_phone,
)

ACCEPTED = [
    ("nif", "000016001234567", "000016001234567"),
    ("nif", "0000 1600 1234 567", "000016001234567"),
    ("nif", "19820516001234567890", "19820516001234567890"),
    ("nis", "000116010012345", "000116010012345"),
    ("nis", "0001-1601-0012-345", "000116010012345"),
    ("rc", "16/00-1234567B21", "16/00-1234567B21"),
    ("rc", "16/00 - 1234567 b 21", "16/00-1234567B21"),
    ("rc", "31/00-0012345A08", "31/00-0012345A08"),
    ("article_imposition", "16012345678", "16012345678"),
    ("article_imposition", "160 123 456 78", "16012345678"),
    ("national_id", "109870123456789012", "109870123456789012"),
]

REFUSED = [
    ("nif", ""),
    ("nif", "00001600123456"),  # 14 digits
    ("nif", "0000160012345678"),  # 16 digits
    ("nif", "00001600123456A"),
    ("nif", "٠٠٠٠١٦٠٠١٢٣٤٥٦٧"),  # Arabic-Indic digits are digits, but not ours
    ("nis", "00011601001234"),
    ("rc", "16/00-1234567C21"),
    ("rc", "1600-1234567B21"),
    ("rc", "16/00-123456B21"),
    ("rc", "16/00-1234567B2"),
    ("article_imposition", "1601234567"),
    ("national_id", "10987012345678901"),
    ("national_id", "1098701234567890123"),
]


@pytest.mark.parametrize(("kind", "typed", "stored"), ACCEPTED)
def test_a_well_formed_identifier_is_stored_in_its_normal_form(kind, typed, stored):
    assert CLEANERS[kind](typed) == stored


@pytest.mark.parametrize(("kind", "typed"), REFUSED)
def test_a_malformed_identifier_is_refused_with_a_reason(kind, typed):
    with pytest.raises(InvalidIdentifier) as refused:
        CLEANERS[kind](typed)

    assert refused.value.message


PHONES = [
    ("0551 23 45 67", "+213551234567"),
    ("021.12.34.56", "+21321123456"),
    ("+213 (0)21 12 34 56", "+21321123456"),
    ("00213551234567", "+213551234567"),
    ("+33 1 23 45 67 89", "+33123456789"),
    ("12345", None),
    ("phone", None),
    ("+0213551234567", None),
]


@pytest.mark.parametrize(("typed", "stored"), PHONES)
def test_phone_numbers_are_stored_in_e164(typed, stored):
    if stored is None:
        with pytest.raises(InvalidIdentifier):
            clean_phone(typed)
    else:
        assert clean_phone(typed) == stored
