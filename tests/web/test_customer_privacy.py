"""A customer's personal data in the admin console: the export (JSON and files in a ZIP,
audited, admins only) and the anonymisation of a closed customer (what the law requires stays,
what names a person goes, audited)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

from api.attachments import stored_path
from db.models import Customer, CustomerKind, CustomerStatus, User, UserStatus
from tests.support.accounts import make_person
from tests.support.admin import audit_events, form_token
from tests.support.customers import company_identifiers, digits, make_customer
from tests.support.kyc import upload_documents

EN = {"Accept-Language": "en"}


async def test_an_admin_exports_everything_as_a_zip(signed_in, sessionmaker, settings):
    admin = await signed_in("admin")
    customer = await make_customer(sessionmaker, email="contact@oasis.dz", **company_identifiers())
    person = await make_person(sessionmaker, settings, customer=customer)
    [document] = await upload_documents(sessionmaker, settings, customer.id, ["trade_register"])

    answer = await admin.get(f"/admin/customers/{customer.id}/export")

    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    data = json.loads(archive.read("customer.json"))
    assert data["customer"]["name"] == customer.name and data["customer"]["nif"] == customer.nif
    assert [u["email"] for u in data["users"]] == [person.email]
    assert f"documents/{document.id}-{document.filename}" in archive.namelist()
    assert await audit_events(sessionmaker, "customer.exported", customer.id)


async def test_only_admins_export(signed_in, sessionmaker):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)
    assert (await sales.get(f"/admin/customers/{customer.id}/export")).status_code == 403


async def test_an_open_customer_is_not_anonymised(signed_in, sessionmaker):
    admin = await signed_in("admin")
    customer = await make_customer(sessionmaker, status=CustomerStatus.ACTIVE, email="a@b.dz")
    token = await form_token(admin, f"/staff/customers/{customer.id}")

    answer = await admin.post(
        f"/admin/customers/{customer.id}/anonymise", data={"csrf_token": token}
    )

    assert answer.status_code == 303
    page = await admin.get(f"/staff/customers/{customer.id}", headers=EN)
    assert "Only a closed customer can be anonymised" in page.text
    async with sessionmaker() as db:
        assert (await db.get(Customer, customer.id)).email == "a@b.dz"


async def test_a_closed_individual_is_anonymised_and_the_record_kept(
    signed_in, sessionmaker, settings
):
    admin = await signed_in("admin")
    name = f"Karim {uuid.uuid4().hex[:6]}"
    customer = await make_customer(
        sessionmaker, kind=CustomerKind.INDIVIDUAL, status=CustomerStatus.CLOSED, name=name,
        national_id=digits(18), email="karim@perso.dz", phone="+213551234567",
    )  # fmt: skip
    person = await make_person(sessionmaker, settings, customer=customer)
    [document] = await upload_documents(sessionmaker, settings, customer.id, ["national_id"])
    token = await form_token(admin, f"/staff/customers/{customer.id}")

    answer = await admin.post(
        f"/admin/customers/{customer.id}/anonymise", data={"csrf_token": token}
    )

    assert answer.status_code == 303
    async with sessionmaker() as db:
        fresh = await db.get(Customer, customer.id)
        user = await db.get(User, person.user.id)
    assert fresh.anonymised_at and name not in fresh.name and fresh.national_id is None
    assert (fresh.email, fresh.phone) == ("", "")
    assert user.email.endswith("@invalid") and user.password_hash is None
    assert user.status == UserStatus.DEACTIVATED
    assert not stored_path(settings, document.sha256).exists()
    assert await audit_events(sessionmaker, "customer.anonymised", customer.id)


async def test_a_closed_company_keeps_its_legal_identity(signed_in, sessionmaker):
    admin = await signed_in("admin")
    ids = company_identifiers()
    customer = await make_customer(
        sessionmaker, status=CustomerStatus.CLOSED, email="dg@societe.dz", **ids
    )
    token = await form_token(admin, f"/staff/customers/{customer.id}")

    await admin.post(f"/admin/customers/{customer.id}/anonymise", data={"csrf_token": token})

    async with sessionmaker() as db:
        fresh = await db.get(Customer, customer.id)
    assert (fresh.name, fresh.nif, fresh.rc) == (customer.name, ids["nif"], ids["rc"])
    assert fresh.email == "" and fresh.anonymised_at
