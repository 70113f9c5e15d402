"""KYC settings in the admin console: admins choose the documents per kind of customer and the
timers; a new file takes them; bad numbers come back with their reason."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from api import kyc, kyc_settings
from api.audit import SYSTEM
from db.models import CustomerKind
from tests.support.admin import audit_events, form_token

EN = {"Accept-Language": "en"}


@pytest.fixture
async def restore_kyc_settings(sessionmaker):
    async with sessionmaker() as db:
        before = await kyc_settings.load(db)
    yield
    async with sessionmaker() as db, db.begin():
        await kyc_settings.save(db, SYSTEM, before)


async def test_an_admin_changes_the_documents_and_new_files_follow(
    signed_in, sessionmaker, restore_kyc_settings
):
    admin = await signed_in("admin")
    token = await form_token(admin, "/admin/kyc")

    answer = await admin.post(
        "/admin/kyc",
        data={"company": ["trade_register", "articles_of_association"],
              "individual": ["national_id"], "reminder_days": "5",
              "reviewer_reminder_hours": "16", "expiry_days": "45", "retention_days": "180",
              "csrf_token": token},
    )  # fmt: skip

    assert answer.status_code == 303
    async with sessionmaker() as db:
        policy = await kyc.policy_for(db, CustomerKind.COMPANY)
    assert policy.required == ["trade_register", "articles_of_association"]
    assert (policy.reminder_days, policy.expiry_days, policy.retention_days) == (5, 45, 180)
    assert await audit_events(sessionmaker, "settings.kyc_changed", "kyc")


async def test_bad_numbers_and_no_document_are_refused(signed_in, sessionmaker):
    admin = await signed_in("admin")
    async with sessionmaker() as db:
        before = asdict(await kyc_settings.load(db))
    token = await form_token(admin, "/admin/kyc")

    answer = await admin.post(
        "/admin/kyc",
        data={"company": [], "individual": ["national_id"], "reminder_days": "0",
              "reviewer_reminder_hours": "8", "expiry_days": "many", "retention_days": "90",
              "csrf_token": token}, headers=EN,
    )  # fmt: skip

    assert answer.status_code == 422
    assert "Choose at least one document." in answer.text
    assert "Enter a whole number from 1 to 365." in answer.text
    async with sessionmaker() as db:
        assert asdict(await kyc_settings.load(db)) == before


async def test_staff_without_settings_rights_cannot_change_them(signed_in):
    sales = await signed_in("sales")
    assert (await sales.get("/admin/kyc")).status_code == 403
