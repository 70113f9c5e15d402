"""Customer records: the profile (legal identity, Algerian identifiers, contacts, addresses,
language, segment) and the status, each change audited with what it was and what it became.

Staff edit any customer; a company owner edits their own company's profile but never its segment
or status. Refusals write nothing. The caller holds the transaction (`async with db.begin()`).
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import i18n
from api import audit
from api.audit import Actor
from api.customer_identifiers import CLEANERS, InvalidIdentifier, clean_phone
from api.identity.accounts import InputError, clean_name, normalise_email
from db.models import Customer, CustomerAddress, CustomerKind, CustomerStatus
from i18n import N_

REASON_LIMIT = 1000
SHORT_LIMIT = 100
# Who may move a customer where by hand. KYC moves prospects to pending validation and then to
# active on its own; a closed customer stays closed (its data can then be anonymised).
STATUS_CHANGES: dict[CustomerStatus, frozenset[CustomerStatus]] = {
    CustomerStatus.PROSPECT: frozenset(
        {CustomerStatus.ACTIVE, CustomerStatus.SUSPENDED, CustomerStatus.CLOSED}
    ),
    CustomerStatus.PENDING_VALIDATION: frozenset(
        {CustomerStatus.ACTIVE, CustomerStatus.SUSPENDED, CustomerStatus.CLOSED}
    ),
    CustomerStatus.ACTIVE: frozenset({CustomerStatus.SUSPENDED, CustomerStatus.CLOSED}),
    CustomerStatus.SUSPENDED: frozenset({CustomerStatus.ACTIVE, CustomerStatus.CLOSED}),
    CustomerStatus.CLOSED: frozenset(),
}
IDENTIFIER_FIELDS = ("nif", "nis", "rc", "article_imposition", "national_id")
TAKEN = N_("Another customer already has this number.")


class CustomerNotFound(LookupError):
    """No such customer, or not one the caller may see: answer 404."""


@dataclass
class AddressForm:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    country: str = "DZ"

    @property
    def blank(self) -> bool:
        return not any(
            v.strip() for v in (self.line1, self.line2, self.postal_code, self.city, self.region)
        )


@dataclass
class ProfileForm:
    legal_name: str = ""
    trade_name: str = ""
    legal_form: str = ""
    nif: str = ""
    nis: str = ""
    rc: str = ""
    article_imposition: str = ""
    national_id: str = ""
    email: str = ""
    phone: str = ""
    mobile: str = ""
    preferred_language: str = "fr"
    segment: str | None = None  # None: not the caller's to change (customers)
    addresses: dict[str, AddressForm] = field(default_factory=dict)


async def find_customer(
    db: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer:
    statement = select(Customer).where(Customer.id == customer_id)
    if for_update:
        statement = statement.with_for_update()
    customer = await db.scalar(statement)
    if customer is None:
        raise CustomerNotFound(customer_id)
    return customer


async def addresses_of(db: AsyncSession, customer_id: uuid.UUID) -> dict[str, CustomerAddress]:
    rows = await db.scalars(
        select(CustomerAddress).where(CustomerAddress.customer_id == customer_id)
    )
    return {row.kind: row for row in rows}


def profile_form(customer: Customer, addresses: dict[str, CustomerAddress]) -> ProfileForm:
    """What the edit form starts from."""
    return ProfileForm(
        legal_name=customer.legal_name or customer.name, trade_name=customer.trade_name,
        legal_form=customer.legal_form, nif=customer.nif or "", nis=customer.nis or "",
        rc=customer.rc or "", article_imposition=customer.article_imposition or "",
        national_id=customer.national_id or "", email=customer.email, phone=customer.phone,
        mobile=customer.mobile, preferred_language=customer.preferred_language,
        segment=customer.segment or "",
        addresses={
            kind: AddressForm(a.line1, a.line2, a.postal_code, a.city, a.region, a.country)
            for kind, a in addresses.items()
        },
    )  # fmt: skip


def snapshot(customer: Customer, addresses: dict[str, CustomerAddress]) -> dict:
    values = {
        key: getattr(customer, key) or ""
        for key in ("name", "legal_name", "trade_name", "legal_form", *IDENTIFIER_FIELDS,
                    "email", "phone", "mobile", "preferred_language", "segment")
    }  # fmt: skip
    for kind, address in addresses.items():
        values[f"{kind}_address"] = ", ".join(
            part for part in (address.line1, address.line2, address.postal_code, address.city,
                              address.region, address.country) if part
        )  # fmt: skip
    return values


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in {**before, **after} if before.get(key, "") != after.get(key, "")]
    return {k: before.get(k, "") for k in keys}, {k: after.get(k, "") for k in keys}


def _text(raw: str, name: str, errors: dict, limit: int, *, required: bool = False) -> str:
    value = unicodedata.normalize("NFC", " ".join(raw.split()))
    if required and not value:
        errors[name] = (N_("This field is required."), {})
    elif any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in value):
        errors[name] = (N_("This field contains characters that are not allowed."), {})
    elif len(value) > limit:
        errors[name] = (N_("Use at most %(count)s characters."), {"count": limit})
    return value


def _name(raw: str, name: str, errors: dict, *, required: bool = False) -> str:
    """Names shown in lists: also refused when they are only marks or look like something else."""
    if not required and not raw.strip():
        return ""
    return clean_name(raw, name, errors)


def _identifier(raw: str, name: str, errors: dict) -> str | None:
    if not raw.strip():
        return None
    try:
        return CLEANERS[name](raw)
    except InvalidIdentifier as invalid:
        errors[name] = (invalid.message, invalid.variables)
        return None


def _phone(raw: str, name: str, errors: dict) -> str:
    if not raw.strip():
        return ""
    try:
        return clean_phone(raw)
    except InvalidIdentifier as invalid:
        errors[name] = (invalid.message, invalid.variables)
        return raw


def _address(kind: str, form: AddressForm, errors: dict) -> dict | None:
    if form.blank:
        return None
    prefix = f"{kind}_"
    values = {
        "line1": _text(form.line1, prefix + "line1", errors, 200, required=True),
        "line2": _text(form.line2, prefix + "line2", errors, 200),
        "postal_code": _text(form.postal_code, prefix + "postal_code", errors, 10),
        "city": _text(form.city, prefix + "city", errors, SHORT_LIMIT, required=True),
        "region": _text(form.region, prefix + "region", errors, SHORT_LIMIT),
        "country": (form.country or "DZ").strip().upper(),
    }
    if not (len(values["country"]) == 2 and values["country"].isascii()):
        errors[prefix + "country"] = (N_("Enter the two-letter country code (DZ)."), {})
    return values


async def _check_unique(db: AsyncSession, customer: Customer, values: dict, errors: dict) -> None:
    for name in IDENTIFIER_FIELDS:
        value = values.get(name)
        if value is None or name in errors:
            continue
        column = getattr(Customer, name)
        other = await db.scalar(
            select(Customer.id).where(column == value, Customer.id != customer.id)
        )
        if other is not None:
            errors[name] = (TAKEN, {})


async def update_profile(
    db: AsyncSession, actor: Actor, customer_id: uuid.UUID, form: ProfileForm
) -> Customer:
    customer = await find_customer(db, customer_id, for_update=True)
    current = await addresses_of(db, customer.id)
    errors: dict = {}
    values: dict = {
        "legal_name": _name(form.legal_name, "legal_name", errors, required=True),
        "trade_name": _name(form.trade_name, "trade_name", errors),
        "legal_form": _text(form.legal_form, "legal_form", errors, 40),
        **{name: _identifier(getattr(form, name), name, errors) for name in IDENTIFIER_FIELDS},
        "phone": _phone(form.phone, "phone", errors),
        "mobile": _phone(form.mobile, "mobile", errors),
    }
    if customer.kind == CustomerKind.INDIVIDUAL:
        values["legal_form"] = ""
    values["email"] = ""
    if form.email.strip():
        try:
            values["email"] = normalise_email(form.email[:320])
        except InputError as invalid:
            errors.update(invalid.errors)
    if form.preferred_language not in i18n.SUPPORTED:
        errors["preferred_language"] = (N_("Choose a language from the list."), {})
    values["preferred_language"] = form.preferred_language
    if form.segment is not None:
        values["segment"] = _text(form.segment, "segment", errors, 40) or None
    addresses = {kind: _address(kind, form.addresses.get(kind, AddressForm()), errors)
                 for kind in ("billing", "technical")}  # fmt: skip
    await _check_unique(db, customer, values, errors)
    if errors:
        raise InputError(errors)

    before = snapshot(customer, current)
    for key, value in values.items():
        setattr(customer, key, value)
    customer.name = customer.trade_name or customer.legal_name
    for kind, address in addresses.items():
        if address is None:
            if kind in current:
                await db.delete(current.pop(kind))
        elif kind in current:
            for key, value in address.items():
                setattr(current[kind], key, value)
        else:
            current[kind] = CustomerAddress(customer_id=customer.id, kind=kind, **address)
            db.add(current[kind])
    try:
        async with db.begin_nested():  # two people saving the same NIF at once: one wins
            await db.flush()
    except IntegrityError as taken:
        clash = next((n for n in IDENTIFIER_FIELDS if f"uq_customers_{n}" in str(taken.orig)), None)
        if clash is None:
            raise
        raise InputError({clash: (TAKEN, {})}) from taken
    changed_before, changed_after = _changes(before, snapshot(customer, current))
    if changed_after:
        audit.record(
            db, actor, "customer.updated", target_type="customer", target_id=customer.id,
            before=changed_before, after=changed_after,
        )  # fmt: skip
    return customer


async def change_status(
    db: AsyncSession, actor: Actor, customer_id: uuid.UUID, status: str, reason: str
) -> Customer:
    """A status change by hand, always with its reason (kept on the customer and audited)."""
    customer = await find_customer(db, customer_id, for_update=True)
    errors: dict = {}
    wanted = CustomerStatus(status) if status in CustomerStatus._value2member_map_ else None
    if wanted is None or wanted not in STATUS_CHANGES[customer.status]:
        errors["status"] = (N_("This status change is not possible from the current status."), {})
    reason = " ".join(reason.split())
    if not reason:
        errors["reason"] = (N_("Say why: the reason is kept with the change."), {})
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = (N_("Use at most %(count)s characters."), {"count": REASON_LIMIT})
    if errors:
        raise InputError(errors)
    before = customer.status
    customer.status = wanted
    customer.status_reason = reason
    customer.status_changed_at = await db.scalar(select(func.now()))
    audit.record(
        db, actor, "customer.status_changed", target_type="customer", target_id=customer.id,
        before={"status": before.value}, after={"status": wanted.value, "reason": reason},
    )  # fmt: skip
    return customer
