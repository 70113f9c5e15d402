"""The customers JSON API against the running app, with real personal API tokens: a staff token
lists and searches every customer and reads one with its KYC file; a customer token sees its own
company only (another company is a 404) and none of the provider's own fields."""

from __future__ import annotations

import uuid

from db.models import CustomerAddress, CustomerStatus
from tests.support.accounts import make_person
from tests.support.customers import company_identifiers, make_customer
from tests.support.kyc import upload_documents
from tests.support.portal_tickets import bearer

PROBLEM = "application/problem+json"


async def _token(sessionmaker, settings, role: str, *scopes: str, customer=None):
    person = await make_person(sessionmaker, settings, role=role, customer=customer)
    return await bearer(sessionmaker, person.user, *(scopes or ("customers.view",)))


async def test_a_staff_token_finds_a_customer_by_its_nif_with_spaces(http, sessionmaker, settings):
    identifiers = company_identifiers()
    wanted = await make_customer(sessionmaker, segment="pme", **identifiers)
    await make_customer(sessionmaker)
    headers = await _token(sessionmaker, settings, "agent")
    spaced = " ".join(identifiers["nif"][i : i + 4] for i in range(0, 15, 4))

    answer = await http.get("/api/v1/customers", params={"q": spaced}, headers=headers)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [item["id"] for item in body["items"]] == [str(wanted.id)]
    assert body["items"][0]["nif"] == identifiers["nif"]
    assert body["items"][0]["segment"] == "pme"
    assert body["total"] == 1


async def test_the_staff_list_filters_by_status_and_is_paged(http, sessionmaker, settings):
    segment = f"seg-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        await make_customer(sessionmaker, status=CustomerStatus.SUSPENDED, segment=segment)
    await make_customer(sessionmaker, status=CustomerStatus.ACTIVE, segment=segment)
    headers = await _token(sessionmaker, settings, "agent")
    query = {"segment": segment, "status": "suspended", "per_page": 2}

    first = await http.get("/api/v1/customers", params=query, headers=headers)
    second = await http.get("/api/v1/customers", params={**query, "page": 2}, headers=headers)

    assert first.json()["total"] == 3 and first.json()["pages"] == 2
    assert len(first.json()["items"]) == 2 and len(second.json()["items"]) == 1
    assert {item["status"] for item in first.json()["items"]} == {"suspended"}


async def test_a_customer_token_lists_its_own_company_only(http, sessionmaker, settings):
    ours = await make_customer(sessionmaker, segment="vip")
    await make_customer(sessionmaker)
    headers = await _token(sessionmaker, settings, "customer_owner", customer=ours)

    answer = await http.get("/api/v1/customers", params={"segment": "other"}, headers=headers)

    items = answer.json()["items"]
    assert [item["id"] for item in items] == [str(ours.id)]
    assert items[0]["segment"] is None  # the provider's own classification stays inside


async def test_a_customer_token_reading_another_company_gets_404(http, sessionmaker, settings):
    ours = await make_customer(sessionmaker)
    theirs = await make_customer(sessionmaker)
    headers = await _token(sessionmaker, settings, "customer_owner", customer=ours)

    answer = await http.get(f"/api/v1/customers/{theirs.id}", headers=headers)
    unknown = await http.get(f"/api/v1/customers/{uuid.uuid4()}", headers=headers)

    assert answer.status_code == 404 and unknown.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json() == unknown.json()


async def test_the_detail_carries_addresses_and_the_kyc_documents_with_decisions(
    http, sessionmaker, settings
):
    customer = await make_customer(
        sessionmaker, status_reason="Impayés", kyc_state="rejected", **company_identifiers()
    )
    async with sessionmaker() as db, db.begin():
        db.add(CustomerAddress(customer_id=customer.id, kind="billing", line1="12 rue Didouche",
                               city="Alger", region="Alger"))  # fmt: skip
    documents = await upload_documents(sessionmaker, settings, customer.id, requirements=["rc"])
    async with sessionmaker() as db, db.begin():
        document = await db.get(type(documents[0]), documents[0].id)
        document.review_status, document.review_reason = "rejected", "Illisible"
    staff = await _token(sessionmaker, settings, "agent")
    own = await _token(sessionmaker, settings, "customer_member", customer=customer)

    as_staff = (await http.get(f"/api/v1/customers/{customer.id}", headers=staff)).json()
    as_customer = (await http.get(f"/api/v1/customers/{customer.id}", headers=own)).json()

    assert as_staff["addresses"][0]["city"] == "Alger"
    assert as_staff["kyc"]["state"] == "rejected"
    (sent,) = as_staff["kyc"]["documents"]
    assert sent["requirement"] == "rc" and sent["review_status"] == "rejected"
    assert sent["review_reason"] == "Illisible"
    assert as_staff["status_reason"] == "Impayés" and as_customer["status_reason"] is None
    assert as_customer["kyc"]["documents"][0]["review_reason"] == "Illisible"


async def test_a_token_without_the_view_scope_is_refused(http, sessionmaker, settings):
    headers = await _token(sessionmaker, settings, "agent", "tickets.view")

    answer = await http.get("/api/v1/customers", headers=headers)

    assert answer.status_code == 403 and answer.headers["content-type"] == PROBLEM


async def test_an_unknown_kyc_state_is_a_422_problem(http, sessionmaker, settings):
    headers = await _token(sessionmaker, settings, "agent")

    answer = await http.get("/api/v1/customers", params={"kyc_state": "maybe"}, headers=headers)

    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
