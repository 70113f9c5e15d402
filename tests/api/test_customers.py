"""Customer records: the profile's identifiers are checked, normalised and unique, every change
is audited with its before and after, and status changes need a reason and follow the rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api import customers
from api.audit import Actor
from api.customers import AddressForm, ProfileForm
from api.identity.accounts import InputError
from db.models import AuditEvent, Customer, CustomerAddress, CustomerStatus
from tests.support.customers import company_identifiers, make_customer

STAFF = Actor(None, "sales@example.dz")


async def _update(sessionmaker, customer_id, form: ProfileForm) -> Customer:
    async with sessionmaker() as db, db.begin():
        return await customers.update_profile(db, STAFF, customer_id, form)


async def _events(sessionmaker, customer_id, action: str) -> list[AuditEvent]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(AuditEvent).where(
                AuditEvent.target_id == str(customer_id), AuditEvent.action == action
            )
        )
        return list(rows)


async def test_a_profile_is_saved_normalised_with_its_addresses_and_audited(sessionmaker):
    customer = await make_customer(sessionmaker)
    ids = company_identifiers()
    spaced_nif = " ".join(ids["nif"][i : i + 5] for i in range(0, 15, 5))
    form = ProfileForm(
        legal_name="Atlas  Numérique SARL", trade_name="Atlas Cloud", legal_form="SARL",
        nif=spaced_nif, nis=ids["nis"], rc=ids["rc"].lower(), phone="0551 23 45 67",
        preferred_language="en", segment="premium",
        addresses={"billing": AddressForm("12 rue Didouche Mourad", "", "16000", "Alger",
                                          "Alger", "dz")},
    )  # fmt: skip

    saved = await _update(sessionmaker, customer.id, form)

    assert (saved.name, saved.legal_name) == ("Atlas Cloud", "Atlas Numérique SARL")
    assert (saved.nif, saved.rc, saved.phone) == (ids["nif"], ids["rc"], "+213551234567")
    assert saved.segment == "premium" and saved.preferred_language == "en"
    async with sessionmaker() as db:
        address = await db.scalar(
            select(CustomerAddress).where(CustomerAddress.customer_id == customer.id)
        )
    assert (address.kind, address.city, address.country) == ("billing", "Alger", "DZ")
    [event] = await _events(sessionmaker, customer.id, "customer.updated")
    assert event.after["nif"] == ids["nif"] and event.before["nif"] == ""
    assert event.after["billing_address"].startswith("12 rue Didouche Mourad")


async def test_an_identifier_another_customer_has_is_refused_and_nothing_is_written(
    sessionmaker,
):
    ids = company_identifiers()
    await make_customer(sessionmaker, nif=ids["nif"])
    customer = await make_customer(sessionmaker)

    with pytest.raises(InputError) as refused:
        await _update(
            sessionmaker, customer.id,
            ProfileForm(legal_name="Second SARL", nif=ids["nif"], nis="12"),
        )  # fmt: skip

    assert set(refused.value.errors) == {"nif", "nis"}
    async with sessionmaker() as db:
        assert (await db.get(Customer, customer.id)).legal_name == customer.legal_name
    assert not await _events(sessionmaker, customer.id, "customer.updated")


async def test_a_half_filled_address_names_its_missing_fields(sessionmaker):
    customer = await make_customer(sessionmaker)
    form = ProfileForm(legal_name="Adresse SARL", addresses={"technical": AddressForm(city="Oran")})

    with pytest.raises(InputError) as refused:
        await _update(sessionmaker, customer.id, form)

    assert set(refused.value.errors) == {"technical_line1"}


async def test_a_status_change_keeps_its_reason_and_is_audited(sessionmaker):
    customer = await make_customer(sessionmaker, status=CustomerStatus.ACTIVE)

    async with sessionmaker() as db, db.begin():
        await customers.change_status(db, STAFF, customer.id, "suspended", " Unpaid  invoices ")

    async with sessionmaker() as db:
        saved = await db.get(Customer, customer.id)
    assert saved.status == CustomerStatus.SUSPENDED and saved.status_reason == "Unpaid invoices"
    [event] = await _events(sessionmaker, customer.id, "customer.status_changed")
    assert event.before == {"status": "active"}
    assert event.after == {"status": "suspended", "reason": "Unpaid invoices"}


@pytest.mark.parametrize(
    ("start", "wanted", "reason", "fields"),
    [
        (CustomerStatus.ACTIVE, "suspended", "  ", {"reason"}),
        (CustomerStatus.CLOSED, "active", "Came back", {"status"}),
        (CustomerStatus.ACTIVE, "pending_validation", "KYC again", {"status"}),
        (CustomerStatus.ACTIVE, "nonsense", "Why not", {"status"}),
    ],
)
async def test_a_status_change_without_reason_or_against_the_rules_is_refused(
    sessionmaker, start, wanted, reason, fields
):
    customer = await make_customer(sessionmaker, status=start)

    with pytest.raises(InputError) as refused:
        async with sessionmaker() as db, db.begin():
            await customers.change_status(db, STAFF, customer.id, wanted, reason)

    assert set(refused.value.errors) == fields
    assert not await _events(sessionmaker, customer.id, "customer.status_changed")
