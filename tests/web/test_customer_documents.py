"""Documents on a customer's file in the back-office: upload (checked by content, refused with a
reason and nothing stored), download and preview, deletion that removes the bytes and keeps the
record; customers never read what staff filed nor another company's documents."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select

from api.attachments import stored_path
from db.models import CustomerDocument
from tests.support.accounts import make_person
from tests.support.admin import audit_events, form_token
from tests.support.attachments import pdf
from tests.support.customers import make_customer

EN = {"Accept-Language": "en"}
DISGUISED = b"<!doctype html><html><script>alert(1)</script></html>"


async def _documents(sessionmaker, customer_id) -> list[CustomerDocument]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(CustomerDocument).where(CustomerDocument.customer_id == customer_id)
        )
        return list(rows)


async def _upload(client, customer_id, files):
    path = f"/staff/customers/{customer_id}/documents"
    token = await form_token(client, path)
    return await client.post(path, data={"csrf_token": token}, files=files, headers=EN)


async def test_staff_file_a_document_then_download_and_preview_it(signed_in, sessionmaker):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)
    contract = pdf(f"Contrat {uuid.uuid4().hex}")

    answer = await _upload(sales, customer.id, [("files", ("contrat.pdf", contract, "x/y"))])

    assert answer.status_code == 303
    [document] = await _documents(sessionmaker, customer.id)
    assert (document.filename, document.content_type) == ("contrat.pdf", "application/pdf")
    assert document.uploaded_by_staff and document.review_status is None
    assert (await sales.get(f"/documents/{document.id}")).content == contract
    preview = await sales.get(f"/documents/{document.id}/preview")
    assert preview.headers["content-disposition"].startswith("inline")
    assert await audit_events(sessionmaker, "customer.document_added", customer.id)


async def test_a_web_page_disguised_as_a_pdf_is_refused_and_nothing_is_stored(
    signed_in, sessionmaker, settings
):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)

    answer = await _upload(sales, customer.id, [("files", ("facture.pdf", DISGUISED, "x/y"))])

    assert answer.status_code == 422
    assert "facture.pdf looks like a web page or a script" in answer.text
    assert await _documents(sessionmaker, customer.id) == []
    assert not stored_path(settings, hashlib.sha256(DISGUISED).hexdigest()).exists()


async def test_an_empty_file_is_refused_with_its_name(signed_in, sessionmaker):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)

    answer = await _upload(sales, customer.id, [("files", ("vide.pdf", b"", "x/y"))])

    assert answer.status_code == 422 and "vide.pdf is empty." in answer.text
    assert await _documents(sessionmaker, customer.id) == []


async def test_a_form_without_any_file_asks_for_one(signed_in, sessionmaker):
    """What a browser sends for a file input left empty: a part with an empty file name."""
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)
    path = f"/staff/customers/{customer.id}/documents"
    token = await form_token(sales, path)
    body = (
        f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        '--b\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )

    answer = await sales.post(
        path, content=body.encode(),
        headers={**EN, "Content-Type": "multipart/form-data; boundary=b"},
    )  # fmt: skip

    assert answer.status_code == 422 and "Choose a file to upload." in answer.text


async def test_deleting_removes_the_bytes_and_keeps_the_record(signed_in, sessionmaker, settings):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)
    content = pdf(f"Unique {uuid.uuid4().hex}")
    await _upload(sales, customer.id, [("files", ("statuts.pdf", content, "x/y"))])
    [document] = await _documents(sessionmaker, customer.id)
    path = stored_path(settings, document.sha256)
    assert path.exists()
    token = await form_token(sales, f"/staff/customers/{customer.id}/documents")

    answer = await sales.post(
        f"/staff/customers/{customer.id}/documents/{document.id}/delete",
        data={"csrf_token": token},
    )

    assert answer.status_code == 303
    [kept] = await _documents(sessionmaker, customer.id)
    assert kept.deleted_at and kept.file_removed_at and not path.exists()
    assert (await sales.get(f"/documents/{document.id}")).status_code == 404
    assert await audit_events(sessionmaker, "customer.document_deleted", customer.id)


async def test_bytes_another_document_still_needs_are_kept(signed_in, sessionmaker, settings):
    sales = await signed_in("sales")
    first, second = await make_customer(sessionmaker), await make_customer(sessionmaker)
    content = pdf(f"Shared {uuid.uuid4().hex}")
    for customer in (first, second):
        await _upload(sales, customer.id, [("files", ("kbis.pdf", content, "x/y"))])
    [document] = await _documents(sessionmaker, first.id)
    token = await form_token(sales, f"/staff/customers/{first.id}/documents")

    await sales.post(
        f"/staff/customers/{first.id}/documents/{document.id}/delete", data={"csrf_token": token}
    )

    [other] = await _documents(sessionmaker, second.id)
    assert (await sales.get(f"/documents/{other.id}")).content == content


async def test_customers_never_read_staff_files_nor_another_companys(
    signed_in, sessionmaker, settings
):
    sales = await signed_in("sales")
    owner = await signed_in("customer_owner")
    stranger = await make_person(sessionmaker, settings, role="customer_owner")
    for customer_id in (owner.person.user.customer_id, stranger.user.customer_id):
        await _upload(sales, customer_id, [("files", ("interne.pdf", pdf(), "x/y"))])
    own = await _documents(sessionmaker, owner.person.user.customer_id)
    foreign = await _documents(sessionmaker, stranger.user.customer_id)

    for document in own + foreign:
        assert (await owner.get(f"/documents/{document.id}")).status_code == 404
        assert (await owner.get(f"/documents/{document.id}/preview")).status_code == 404
    assert (await owner.get(f"/staff/customers/{stranger.user.customer_id}")).status_code == 403
