"""The KYC journey in a real Chromium: a new company registers, fills in its identifiers,
uploads its documents and submits; a reviewer rejects one with a reason; the customer reads the
reason, uploads a new version and submits again; the reviewer approves; the customer is active
and both emails (the correction and the approval) reached the SMTP sink."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from db.models import Customer, CustomerStatus, User
from tests.support.accounts import make_person
from tests.support.attachments import pdf, png
from tests.support.browser import browser_sign_in
from tests.support.customers import company_identifiers

pytestmark = pytest.mark.e2e

PASSWORD = "Cèdre-Lagune-Fanal-2026"
REASON = "Le scan est illisible : envoyez une copie nette de la pièce d'identité."


def _file(name: str, content: bytes, kind: str) -> dict:
    return {"name": name, "mimeType": kind, "buffer": content}


async def _register(page, smtp_sink, email: str) -> None:
    await page.goto("/register")
    await page.get_by_label("Company name").fill("Oasis Data SARL")
    await page.get_by_label("Your full name").fill("Samia Oasis")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create my account").click()
    [mail] = await smtp_sink.wait_for(email)
    await page.goto(re.search(r"https?://\S+/verify-email\?token=\S+", mail.text).group(0))
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/portal")


async def _upload(page, requirement: str, file: dict) -> None:
    await page.locator(f"#req-{requirement}-files").set_input_files(file)
    await (
        page.locator(f"#req-{requirement}-files")
        .locator("xpath=ancestor::form")
        .get_by_role("button", name="Upload")
        .click()
    )
    await page.get_by_text("The document is uploaded.").wait_for()


async def _open_in_queue(reviewer, name: str) -> None:
    for _ in range(50):  # the queue reads the projection the workflow writes
        await reviewer.goto("/staff/kyc")
        if await reviewer.get_by_role("link", name=name).count():
            await reviewer.get_by_role("link", name=name).click()
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} never reached the KYC queue")


async def test_register_submit_rejected_resubmit_approved(
    page, browser, web_url, sessionmaker, settings, smtp_sink, unique
):
    email = f"samia-{unique}@oasis-data.dz"
    await _register(page, smtp_sink, email)
    ids = company_identifiers()

    await page.goto("/portal/company")
    await page.get_by_label("NIF").fill(ids["nif"])
    await page.get_by_label("RC", exact=True).fill(ids["rc"])
    await page.get_by_role("button", name="Save").click()
    await page.get_by_text("Changes saved.").wait_for()

    await page.goto("/portal/kyc")
    await _upload(page, "trade_register", _file("registre.pdf", pdf("RC"), "application/pdf"))
    await _upload(page, "nif_certificate", _file("nif.pdf", pdf("NIF"), "application/pdf"))
    await _upload(page, "representative_id", _file("cni.png", png(4, 4), "image/png"))
    await page.get_by_role("button", name="Submit my documents").click()
    await page.get_by_text("your documents are with our team for review").wait_for()

    reviewer_person = await make_person(sessionmaker, settings, role="sales")
    context = await browser.new_context(base_url=web_url, locale="en-GB")
    reviewer = await context.new_page()
    try:
        await browser_sign_in(reviewer, reviewer_person)
        await _open_in_queue(reviewer, "Oasis Data SARL")
        identity = reviewer.locator("article", has_text="legal representative")
        await identity.locator("summary", has_text="Reject").click()
        await identity.get_by_label("What must the customer correct?").fill(REASON)
        await identity.get_by_role("button", name="Reject the document").click()
        for _ in range(2):
            await reviewer.get_by_role("button", name=re.compile("^Approve")).first.click()
            await reviewer.wait_for_load_state()
        await reviewer.get_by_text("The file goes back to the customer").wait_for()

        correction = (await smtp_sink.wait_for(email, count=2))[-1]  # after the address check
        assert "need a correction" in correction.message["Subject"] and REASON in correction.text
        await page.goto("/portal/kyc")
        await page.get_by_text(REASON).wait_for()
        await _upload(page, "representative_id", _file("cni-nette.png", png(8, 8), "image/png"))
        await page.get_by_role("button", name="Submit my documents").click()
        await page.get_by_text("your documents are with our team for review").wait_for()

        await _open_in_queue(reviewer, "Oasis Data SARL")
        await reviewer.get_by_role("button", name=re.compile("^Approve")).click()
        await reviewer.get_by_text("The file is approved").wait_for()
    finally:
        await context.close()

    approval = (await smtp_sink.wait_for(email, count=3))[-1]
    assert "verified" in approval.message["Subject"]
    await page.goto("/portal/kyc")
    await page.get_by_text("Your company is verified.").wait_for()
    async with sessionmaker() as db:
        customer_id = await db.scalar(select(User.customer_id).where(User.email == email))
        customer = await db.get(Customer, customer_id)
    assert (customer.status, customer.kyc_state) == (CustomerStatus.ACTIVE, "approved")
