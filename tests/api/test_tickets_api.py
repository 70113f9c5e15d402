"""The tickets JSON API against the running app, with real personal API tokens: open once per
Idempotency-Key, list and read only what the token may see (another company's ticket is a 404,
internal notes never reach customer tokens), reply, change the status, refusals as problems."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from api import tickets
from db.models import Ticket
from tests.support.accounts import make_person
from tests.support.portal_tickets import bearer, category_closing_at_once
from tests.support.ticket_rows import make_customer, make_ticket
from workflows.ticket_messages import AddNote, Author
from workflows.tickets import TicketWorkflow

CUSTOMER_SCOPES = ("tickets.view", "tickets.create", "tickets.reply", "tickets.close")
PROBLEM = "application/problem+json"


async def _customer(sessionmaker, settings, *scopes: str, role: str = "customer_owner"):
    person = await make_person(sessionmaker, settings, role=role)
    return person, await bearer(sessionmaker, person.user, *(scopes or CUSTOMER_SCOPES))


async def _staff(sessionmaker, settings, *scopes: str):
    person = await make_person(sessionmaker, settings, role="agent")
    return person, await bearer(sessionmaker, person.user, *scopes)


async def _open(http, headers, **fields):
    body = {"subject": "Le VPS ne répond plus", "body": "Depuis 9 h.", **fields}
    answer = await http.post("/api/v1/tickets", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_customer_token_opens_a_ticket_for_its_own_company(http, sessionmaker, settings):
    person, headers = await _customer(sessionmaker, settings)
    other = await make_customer(sessionmaker)

    answer = await http.post(
        "/api/v1/tickets",
        json={"subject": "Sauvegarde", "body": "Échouée", "customer_id": str(other.id)},
        headers=headers,
    )

    assert answer.status_code == 201
    ticket = answer.json()
    assert ticket["number"].startswith("TCK-")
    assert ticket["customer_id"] == str(person.user.customer_id)
    assert answer.headers["location"] == f"/api/v1/tickets/{ticket['id']}"
    assert [m["body"] for m in ticket["messages"]] == ["Échouée"]


async def test_the_same_idempotency_key_opens_one_ticket(http, sessionmaker, settings):
    person, headers = await _customer(sessionmaker, settings)
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}

    first = await _open(http, keyed)
    second = await _open(http, keyed)

    assert first["id"] == second["id"]
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.customer_id == person.user.customer_id)
        )
    assert count == 1


async def test_bad_input_is_a_422_problem_naming_the_field(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)

    answer = await http.post(
        "/api/v1/tickets", json={"subject": "  ", "body": "x"}, headers=headers
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    assert [error["loc"] for error in answer.json()["errors"]] == [["body", "subject"]]


async def test_a_token_without_the_create_scope_cannot_open(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings, "tickets.view")

    answer = await http.post("/api/v1/tickets", json={"subject": "x", "body": "y"}, headers=headers)

    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM


async def test_a_staff_token_must_name_the_customer(http, sessionmaker, settings):
    _, headers = await _staff(sessionmaker, settings, "tickets.view", "tickets.create")
    company = await make_customer(sessionmaker)

    missing = await http.post(
        "/api/v1/tickets", json={"subject": "x", "body": "y"}, headers=headers
    )
    named = await _open(http, headers, customer_id=str(company.id))

    assert missing.status_code == 422
    assert named["customer_id"] == str(company.id)


async def test_a_customer_token_lists_only_its_company(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)
    ours = await _open(http, headers)
    theirs = await make_ticket(sessionmaker, await make_customer(sessionmaker))

    answer = await http.get("/api/v1/tickets", headers=headers)

    assert answer.status_code == 200
    ids = [item["id"] for item in answer.json()["items"]]
    assert ids == [ours["id"]]
    assert str(theirs.id) not in ids
    assert answer.json()["items"][0]["assignee_id"] is None  # the desk's side stays hidden


async def test_the_list_filters_by_status_and_priority(http, sessionmaker, settings):
    _, headers = await _staff(sessionmaker, settings, "tickets.view")
    company = await make_customer(sessionmaker)
    urgent = await make_ticket(sessionmaker, company, priority="urgent", status="open")
    await make_ticket(sessionmaker, company, priority="urgent", status="closed")
    await make_ticket(sessionmaker, company, priority="low", status="open")

    answer = await http.get(
        "/api/v1/tickets",
        params={"customer_id": str(company.id), "status": "open", "priority": "urgent"},
        headers=headers,
    )

    assert [item["id"] for item in answer.json()["items"]] == [str(urgent.id)]


async def test_the_list_is_paged(http, sessionmaker, settings):
    _, headers = await _staff(sessionmaker, settings, "tickets.view")
    company = await make_customer(sessionmaker)
    for _ in range(3):
        await make_ticket(sessionmaker, company)

    answer = await http.get(
        "/api/v1/tickets",
        params={"customer_id": str(company.id), "per_page": 2, "page": 2},
        headers=headers,
    )

    page = answer.json()
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (3, 2, 2, 1)


async def test_another_companys_ticket_answers_404(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)
    theirs = await make_ticket(sessionmaker, await make_customer(sessionmaker))

    for method, path, body in (
        ("GET", "", None),
        ("POST", "/messages", {"body": "Bonjour"}),
        ("POST", "/status", {"status": "closed"}),
    ):
        answer = await http.request(
            method, f"/api/v1/tickets/{theirs.id}{path}", json=body, headers=headers
        )
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.headers["content-type"] == PROBLEM


async def _ticket_with_note(http, sessionmaker, settings, temporal_client):
    _, headers = await _customer(sessionmaker, settings)
    ticket = await _open(http, headers)
    note = AddNote(str(uuid.uuid4()), Author(None, "Amina", "agent"), "Client à surveiller")
    await tickets.update(temporal_client, ticket["id"], TicketWorkflow.add_note, note)
    return ticket, headers


async def test_internal_notes_never_reach_a_customer_token(
    http, sessionmaker, settings, temporal_client
):
    ticket, headers = await _ticket_with_note(http, sessionmaker, settings, temporal_client)

    answer = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)

    assert "Client à surveiller" not in answer.text
    assert all(not message["internal"] for message in answer.json()["messages"])


async def test_internal_notes_reach_a_staff_token_only_with_the_reply_scope(
    http, sessionmaker, settings, temporal_client
):
    ticket, _ = await _ticket_with_note(http, sessionmaker, settings, temporal_client)
    _, viewer = await _staff(sessionmaker, settings, "tickets.view")
    _, worker = await _staff(sessionmaker, settings, "tickets.view", "tickets.reply")

    seen_by_viewer = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=viewer)
    seen_by_worker = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=worker)

    assert "Client à surveiller" not in seen_by_viewer.text
    notes = [m for m in seen_by_worker.json()["messages"] if m["internal"]]
    assert [note["body"] for note in notes] == ["Client à surveiller"]


async def test_a_customer_closes_and_reopens_through_the_status(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)
    ticket = await _open(http, headers)
    path = f"/api/v1/tickets/{ticket['id']}/status"

    closed = await http.post(path, json={"status": "closed"}, headers=headers)
    reopened = await http.post(path, json={"status": "open"}, headers=headers)

    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"


async def test_a_status_the_customer_may_not_set_is_a_409_with_its_kind(
    http, sessionmaker, settings
):
    _, headers = await _customer(sessionmaker, settings)
    ticket = await _open(http, headers)

    answer = await http.post(
        f"/api/v1/tickets/{ticket['id']}/status", json={"status": "on_hold"}, headers=headers
    )

    assert answer.status_code == 409
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["kind"] == "InvalidTransition"


async def test_closing_needs_the_close_scope(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings, "tickets.view", "tickets.create")
    ticket = await _open(http, headers)

    answer = await http.post(
        f"/api/v1/tickets/{ticket['id']}/status", json={"status": "closed"}, headers=headers
    )

    assert answer.status_code == 403


async def test_an_agent_token_replies_and_sets_the_status(http, sessionmaker, settings):
    _, customer = await _customer(sessionmaker, settings)
    ticket = await _open(http, customer)
    _, agent = await _staff(sessionmaker, settings, "tickets.view", "tickets.reply")

    answer = await http.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Pouvez-vous redémarrer ?", "set_status": "waiting_on_customer"},
        headers=agent,
    )

    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    assert outcome["follow_up"] is False
    assert outcome["ticket"]["status"] == "waiting_on_customer"
    assert outcome["ticket"]["messages"][-1]["body"] == "Pouvez-vous redémarrer ?"


async def test_a_customer_token_replies(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)
    ticket = await _open(http, headers)
    keyed = {**headers, "Idempotency-Key": "reply-1"}

    first = await http.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Merci"}, headers=keyed
    )
    again = await http.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Merci"}, headers=keyed
    )

    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["message_id"] == again.json()["message_id"]
    bodies = [m["body"] for m in again.json()["ticket"]["messages"]]
    assert bodies == ["Depuis 9 h.", "Merci"]


async def test_an_empty_reply_is_a_422_problem(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)
    ticket = await _open(http, headers)

    answer = await http.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "   "}, headers=headers
    )

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "body"]


async def test_a_customer_reply_after_the_reopen_window_opens_a_follow_up(
    http, sessionmaker, settings
):
    category = await category_closing_at_once(sessionmaker)
    _, headers = await _customer(sessionmaker, settings)
    ticket = await _open(http, headers, category_id=str(category.id))
    await http.post(
        f"/api/v1/tickets/{ticket['id']}/status", json={"status": "closed"}, headers=headers
    )

    answer = await http.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Ça recommence"}, headers=headers
    )

    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    assert outcome["follow_up"] is True
    assert outcome["ticket"]["id"] != ticket["id"]
    assert outcome["ticket"]["follow_up_of_id"] == ticket["id"]
    assert [m["body"] for m in outcome["ticket"]["messages"]] == ["Ça recommence"]


async def test_a_request_id_in_the_body_also_opens_one_ticket(http, sessionmaker, settings):
    _, headers = await _customer(sessionmaker, settings)
    request_id = str(uuid.uuid4())

    first = await _open(http, headers, request_id=request_id)
    second = await _open(http, headers, request_id=request_id)

    assert first["id"] == second["id"]
