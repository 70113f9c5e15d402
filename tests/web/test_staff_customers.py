"""The back-office customer list and customer page: search by identifier or user email, filters,
CSV export (audited), every tab, profile edits and status changes with their reasons, internal
notes whose mentions email the colleague, and who may change what."""

from __future__ import annotations

import csv
import io

from db.models import Customer, CustomerStatus
from tests.support.accounts import make_person
from tests.support.admin import audit_events, form_token
from tests.support.customers import company_identifiers, make_customer

EN = {"Accept-Language": "en"}
TABS = ("", "/users", "/tickets", "/documents", "/notes", "/security", "/timeline")


async def test_customers_are_found_by_spaced_nif_and_by_a_users_email(
    signed_in, sessionmaker, settings, unique
):
    sales = await signed_in("sales")
    ids = company_identifiers()
    by_nif = await make_customer(sessionmaker, name=f"Nif {unique} SARL", nif=ids["nif"])
    by_email = await make_customer(sessionmaker, name=f"Mail {unique} SARL")
    person = await make_person(
        sessionmaker, settings, customer=by_email, email=f"someone-{unique}@client.dz"
    )

    spaced = " ".join(ids["nif"][i : i + 5] for i in range(0, 15, 5))
    found = await sales.get("/staff/customers", params={"q": spaced})
    assert by_nif.name in found.text and by_email.name not in found.text
    found = await sales.get("/staff/customers", params={"q": person.email})
    assert by_email.name in found.text and by_nif.name not in found.text


async def test_the_status_filter_keeps_only_that_status(signed_in, sessionmaker, unique):
    sales = await signed_in("sales")
    await make_customer(sessionmaker, name=f"Gone {unique}", status=CustomerStatus.CLOSED)
    await make_customer(sessionmaker, name=f"Here {unique}", status=CustomerStatus.ACTIVE)

    page = await sales.get("/staff/customers", params={"q": unique, "status": "closed"})

    assert f"Gone {unique}" in page.text and f"Here {unique}" not in page.text


async def test_a_wrong_date_filter_is_explained(signed_in):
    sales = await signed_in("sales")
    page = await sales.get("/staff/customers", params={"from": "31/12/2026"}, headers=EN)
    assert page.status_code == 422 and "Enter a date like 2026-03-31." in page.text


async def test_the_csv_export_has_the_filtered_rows_and_is_audited(signed_in, sessionmaker, unique):
    sales = await signed_in("sales")
    ids = company_identifiers()
    await make_customer(sessionmaker, name=f"=Export {unique}", nif=ids["nif"])

    answer = await sales.get("/staff/customers/export.csv", params={"q": unique}, headers=EN)

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Name", "Kind", "Status"]
    assert rows[1][0] == f"'=Export {unique}" and rows[1][5] == ids["nif"]
    assert await audit_events(sessionmaker, "customers.export", "")


async def test_every_tab_of_a_customer_opens(signed_in, sessionmaker, settings):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    await make_person(sessionmaker, settings, customer=customer)

    for tab in TABS:
        answer = await agent.get(f"/staff/customers/{customer.id}{tab}")
        assert answer.status_code == 200, (tab, answer.text[:300])
        assert customer.name in answer.text


async def test_an_unknown_customer_answers_404(signed_in):
    sales = await signed_in("sales")
    assert (await sales.get("/staff/customers/not-an-id")).status_code == 404
    missing = "/staff/customers/00000000-0000-0000-0000-000000000000/notes"
    assert (await sales.get(missing)).status_code == 404


async def test_staff_edit_the_profile_and_bad_input_comes_back(signed_in, sessionmaker):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)
    path = f"/staff/customers/{customer.id}"
    token = await form_token(sales, path)

    refused = await sales.post(
        path, data={"legal_name": "Mauvais SARL", "rc": "16-123", "preferred_language": "fr",
                    "segment": "premium", "csrf_token": token}, headers=EN,
    )  # fmt: skip
    assert refused.status_code == 422 and 'value="16-123"' in refused.text
    assert "Enter the RC number as on the register" in refused.text

    saved = await sales.post(
        path, data={"legal_name": "Bon SARL", "preferred_language": "fr", "segment": "premium",
                    "csrf_token": token},
    )  # fmt: skip
    assert saved.status_code == 303
    async with sessionmaker() as db:
        fresh = await db.get(Customer, customer.id)
    assert (fresh.name, fresh.segment) == ("Bon SARL", "premium")


async def test_a_status_change_needs_a_reason_and_shows_on_the_timeline(signed_in, sessionmaker):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker, status=CustomerStatus.ACTIVE)
    path = f"/staff/customers/{customer.id}"
    token = await form_token(sales, path)

    refused = await sales.post(
        f"{path}/status", data={"status": "suspended", "reason": "", "csrf_token": token},
        headers=EN,
    )  # fmt: skip
    assert refused.status_code == 422 and "Say why" in refused.text

    done = await sales.post(
        f"{path}/status",
        data={"status": "suspended", "reason": "Impayés depuis trois mois", "csrf_token": token},
    )
    assert done.status_code == 303
    timeline = await sales.get(f"{path}/timeline", headers=EN)
    assert "Status changed" in timeline.text and "Impayés depuis trois mois" in timeline.text


async def test_an_agent_reads_a_customer_but_cannot_change_it(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    path = f"/staff/customers/{customer.id}"
    token = await form_token(agent, path)

    for action, data in (("", {"legal_name": "X"}), ("/status", {"status": "closed"})):
        answer = await agent.post(path + action, data={**data, "reason": "x", "csrf_token": token})
        assert answer.status_code == 403, action


async def test_a_note_mentioning_a_colleague_emails_them(
    signed_in, sessionmaker, settings, smtp_sink, unique
):
    sales = await signed_in("sales")
    colleague = await make_person(
        sessionmaker, settings, role="agent", email=f"nadia.{unique}@demo.dz"
    )
    customer = await make_customer(sessionmaker)
    path = f"/staff/customers/{customer.id}/notes"
    token = await form_token(sales, path)

    answer = await sales.post(
        path, data={"body": f"@nadia.{unique} peux-tu rappeler ce client ?", "csrf_token": token}
    )

    assert answer.status_code == 303
    [mail] = await smtp_sink.wait_for(colleague.email)
    assert "peux-tu rappeler ce client" in mail.text and customer.name in mail.message["Subject"]
    notes = await sales.get(path)
    assert "peux-tu rappeler ce client" in notes.text
    assert await audit_events(sessionmaker, "customer.note_added", customer.id)


async def test_an_empty_note_is_refused(signed_in, sessionmaker):
    sales = await signed_in("sales")
    customer = await make_customer(sessionmaker)
    path = f"/staff/customers/{customer.id}/notes"
    token = await form_token(sales, path)

    answer = await sales.post(path, data={"body": "   ", "csrf_token": token}, headers=EN)

    assert answer.status_code == 422 and "Write the note first." in answer.text
