"""The KYC pages over real HTTP: the customer uploads each required document and submits (bad
uploads refused with their reason and nothing left behind; nothing submitted while a document or
the company's identifiers are missing; another company's documents answer 404); the reviewer
works the queue, oldest first, and a double click on approve is one decision."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from sqlalchemy import func, select

from api.attachments import stored_path
from db.models import AuditEvent, Customer, CustomerDocument
from tests.support.accounts import make_person, sign_in
from tests.support.admin import form_token
from tests.support.attachments import pdf, png
from tests.support.customers import company_identifiers
from tests.support.security import client_from, serve

EN = {"Accept-Language": "en"}
REQUIRED = ("trade_register", "nif_certificate", "representative_id")


async def _company_with_identifiers(sessionmaker, client) -> Customer:
    async with sessionmaker() as db, db.begin():
        customer = await db.get(Customer, client.person.user.customer_id)
        for key, value in company_identifiers().items():
            setattr(customer, key, value)
    return customer


async def _upload(client, requirement: str, name: str, content: bytes):
    token = await form_token(client, "/portal/kyc")
    return await client.post(
        "/portal/kyc/documents", data={"requirement": requirement, "csrf_token": token},
        files=[("files", (name, content, "application/pdf"))], headers=EN,
    )  # fmt: skip


async def _submit(client):
    token = await form_token(client, "/portal/kyc")
    return await client.post(
        "/portal/kyc/submit", data={"csrf_token": token, "request_id": str(uuid.uuid4())},
        headers=EN,
    )  # fmt: skip


async def _documents(sessionmaker, customer_id) -> list[CustomerDocument]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(CustomerDocument)
            .where(CustomerDocument.customer_id == customer_id)
            .order_by(CustomerDocument.uploaded_at)
        )
        return list(rows)


async def _state(sessionmaker, customer_id, wanted: str) -> None:
    for _ in range(100):
        async with sessionmaker() as db:
            if (await db.get(Customer, customer_id)).kyc_state == wanted:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"KYC never reached {wanted}")


async def _submitted_company(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")
    customer = await _company_with_identifiers(sessionmaker, owner)
    for requirement in REQUIRED:
        answer = await _upload(owner, requirement, f"{requirement}.pdf", pdf(uuid.uuid4().hex))
        assert answer.status_code == 303, answer.text[:500]
    assert (await _submit(owner)).status_code == 303
    await _state(sessionmaker, customer.id, "in_review")
    return owner, customer


async def test_the_owner_uploads_every_document_and_submits(signed_in, sessionmaker):
    owner, customer = await _submitted_company(signed_in, sessionmaker)

    page = await owner.get("/portal/kyc", headers=EN)
    assert "Our team is checking your documents." in page.text
    statuses = {d.review_status for d in await _documents(sessionmaker, customer.id)}
    assert statuses == {"submitted"}


async def test_nothing_is_submitted_while_a_document_is_missing(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")
    await _company_with_identifiers(sessionmaker, owner)
    await _upload(owner, "trade_register", "rc.pdf", pdf(uuid.uuid4().hex))

    answer = await _submit(owner)

    assert answer.status_code == 422
    assert "Add the missing documents first: NIF certificate" in answer.text


async def test_nothing_is_submitted_without_the_company_identifiers(signed_in):
    owner = await signed_in("customer_owner")
    for requirement in REQUIRED:
        await _upload(owner, requirement, f"{requirement}.pdf", pdf(uuid.uuid4().hex))

    answer = await _submit(owner)

    assert answer.status_code == 422 and "Complete the company profile first" in answer.text


async def test_a_disguised_file_is_refused_with_its_reason_and_nothing_is_kept(
    signed_in, sessionmaker, settings
):
    owner = await signed_in("customer_owner")
    disguised = b"MZ\x90\x00" + uuid.uuid4().bytes * 40  # a Windows executable named .pdf

    answer = await _upload(owner, "trade_register", "registre.pdf", disguised)

    assert answer.status_code == 422
    assert "registre.pdf is not a type of file we accept" in answer.text or (
        "The content of registre.pdf does not match its extension." in answer.text
    )
    assert await _documents(sessionmaker, owner.person.user.customer_id) == []
    assert not stored_path(settings, hashlib.sha256(disguised).hexdigest()).exists()


async def test_an_empty_file_is_refused(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")

    answer = await _upload(owner, "trade_register", "vide.pdf", b"")

    assert answer.status_code == 422 and "vide.pdf is empty." in answer.text
    assert await _documents(sessionmaker, owner.person.user.customer_id) == []


async def test_an_oversize_file_is_refused_and_nothing_is_kept(sessionmaker, settings, worker):
    person = await make_person(sessionmaker, settings)
    big = png(200, 200) + uuid.uuid4().bytes * 200
    async with serve(settings, upload_max_bytes=2048) as url, client_from(url) as client:
        await sign_in(client, person)
        token = await form_token(client, "/portal/kyc")
        answer = await client.post(
            "/portal/kyc/documents", data={"requirement": "trade_register", "csrf_token": token},
            files=[("files", ("scan.png", big, "image/png"))],
        )  # fmt: skip

    assert answer.status_code == 422 and "scan.png is larger than" in answer.text
    assert await _documents(sessionmaker, person.user.customer_id) == []
    assert not stored_path(settings, hashlib.sha256(big).hexdigest()).exists()


async def test_another_companys_documents_answer_404(signed_in, sessionmaker):
    owner, customer = await _submitted_company(signed_in, sessionmaker)
    stranger = await signed_in("customer_owner")
    token = await form_token(stranger, "/portal/kyc")

    for document in await _documents(sessionmaker, customer.id):
        assert (await stranger.get(f"/documents/{document.id}")).status_code == 404
        assert (await stranger.get(f"/documents/{document.id}/preview")).status_code == 404
        deleted = await stranger.post(
            f"/portal/kyc/documents/{document.id}/delete", data={"csrf_token": token}
        )
        assert deleted.status_code == 404
        assert (await owner.get(f"/documents/{document.id}")).status_code == 200


async def test_a_member_reads_the_file_but_cannot_upload(signed_in, sessionmaker, settings):
    member = await signed_in("customer_member")
    assert (await member.get("/portal/kyc")).status_code == 200

    answer = await _upload(member, "trade_register", "rc.pdf", pdf())

    assert answer.status_code == 403


async def test_the_queue_lists_the_oldest_submission_first(signed_in, sessionmaker):
    _, first = await _submitted_company(signed_in, sessionmaker)
    _, second = await _submitted_company(signed_in, sessionmaker)
    sales = await signed_in("sales")

    page = (await sales.get("/staff/kyc")).text

    assert page.index(first.name) < page.index(second.name)


async def test_a_double_click_on_approve_is_one_decision(signed_in, sessionmaker):
    _, customer = await _submitted_company(signed_in, sessionmaker)
    sales = await signed_in("sales")
    path = f"/staff/kyc/{customer.id}"
    token = await form_token(sales, path)
    document = (await _documents(sessionmaker, customer.id))[0]
    data = {"decision": "approve", "request_id": str(uuid.uuid4()), "csrf_token": token}
    action = f"{path}/documents/{document.id}/decision"

    answers = await asyncio.gather(sales.post(action, data=data), sales.post(action, data=data))

    assert [a.status_code for a in answers] == [303, 303]
    async with sessionmaker() as db:
        decisions = await db.scalar(
            select(func.count()).where(
                AuditEvent.target_id == str(customer.id),
                AuditEvent.action == "kyc.document_approved",
            )
        )
    assert decisions == 1


async def test_a_rejection_without_reason_is_refused(signed_in, sessionmaker):
    _, customer = await _submitted_company(signed_in, sessionmaker)
    sales = await signed_in("sales")
    path = f"/staff/kyc/{customer.id}"
    token = await form_token(sales, path)
    document = (await _documents(sessionmaker, customer.id))[0]

    answer = await sales.post(
        f"{path}/documents/{document.id}/decision",
        data={"decision": "reject", "reason": " ", "request_id": "x", "csrf_token": token},
        headers=EN,
    )

    assert answer.status_code == 422 and "Say what the customer must correct." in answer.text
