"""The customer profile form, read the same way in the back-office and in the portal: every
field as typed (cut at the text limit), the addresses by their prefix (`billing_city`…)."""

from __future__ import annotations

from fastapi import Request

from api.customers import AddressForm, ProfileForm
from web.forms import TEXT_LIMIT

PROFILE_FIELDS = (
    "legal_name", "trade_name", "legal_form", "nif", "nis", "rc", "article_imposition",
    "national_id", "email", "phone", "mobile", "preferred_language",
)  # fmt: skip
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "region", "country")


def _text(value: object) -> str:
    return value[:TEXT_LIMIT] if isinstance(value, str) else ""


async def read_profile_form(request: Request, *, with_segment: bool) -> ProfileForm:
    data = await request.form()
    form = ProfileForm(**{name: _text(data.get(name)) for name in PROFILE_FIELDS})
    form.segment = _text(data.get("segment")) if with_segment else None
    form.addresses = {
        kind: AddressForm(**{key: _text(data.get(f"{kind}_{key}")) for key in ADDRESS_FIELDS})
        for kind in ("billing", "technical")
    }
    return form
