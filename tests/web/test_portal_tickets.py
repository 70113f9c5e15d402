"""The customer portal's ticket list and "New ticket" form, through the real app, worker and
PostgreSQL: only the company's own tickets, filters and pages, the ticket awaiting the customer
highlighted, a new ticket opened once however often the form is sent, bad input explained with
the input kept."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db.models import Ticket, TicketAttachment, TicketMessage
from tests.support.accounts import csrf_token
from tests.support.attachments import png
from tests.support.portal_tickets import open_through_portal, owner_and_company
from tests.support.ticket_rows import make_category, make_customer, make_ticket


async def test_the_list_shows_the_company_tickets_and_no_one_elses(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    ours = await make_ticket(sessionmaker, company, "Notre VPS")
    theirs = await make_ticket(sessionmaker, await make_customer(sessionmaker), "Leur VPS")

    page = await owner.get("/portal/tickets")

    assert page.status_code == 200
    assert ours.number in page.text and "Notre VPS" in page.text
    assert theirs.number not in page.text and "Leur VPS" not in page.text


async def test_the_status_filter_keeps_the_tickets_awaiting_the_customer(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    waiting = await make_ticket(sessionmaker, company, status="waiting_on_customer")
    open_one = await make_ticket(sessionmaker, company, status="open")

    page = await owner.get("/portal/tickets", params={"status": "waiting"})

    assert waiting.number in page.text
    assert open_one.number not in page.text


async def test_the_date_filter_keeps_the_tickets_created_those_days(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    march = await make_ticket(
        sessionmaker, company, created_at=datetime(2026, 3, 10, 12, tzinfo=UTC)
    )
    april = await make_ticket(
        sessionmaker, company, created_at=datetime(2026, 4, 10, 12, tzinfo=UTC)
    )

    page = await owner.get("/portal/tickets", params={"from": "2026-03-01", "to": "2026-03-31"})

    assert march.number in page.text
    assert april.number not in page.text


async def test_a_wrong_date_is_explained_next_to_its_field(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)

    page = await owner.get("/portal/tickets", params={"from": "31/03/2026"})

    assert page.status_code == 422
    assert 'id="tickets-from-error"' in page.text
    assert 'value="31/03/2026"' in page.text


async def test_the_list_is_paged(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    numbers = [
        (await make_ticket(sessionmaker, company, updated_at=start + timedelta(hours=i))).number
        for i in range(26)
    ]

    first = await owner.get("/portal/tickets")
    second = await owner.get("/portal/tickets", params={"page": "2"})

    assert numbers[-1] in first.text and numbers[0] not in first.text
    assert numbers[0] in second.text and numbers[-1] not in second.text
    assert 'rel="prev"' in second.text


async def test_the_ticket_awaiting_the_customer_is_highlighted(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    waiting = await make_ticket(sessionmaker, company, status="waiting_on_customer")
    await make_ticket(sessionmaker, company, status="open")

    page = await owner.get("/portal/tickets")

    rows = re.findall(r"<tr class=\"row-awaiting\">.*?</tr>", page.text, re.S)
    assert len(rows) == 1 and waiting.number in rows[0]
    assert "Awaiting your reply" in rows[0]


async def test_the_portal_navigation_links_the_tickets(signed_in):
    owner = await signed_in("customer_member")

    page = await owner.get("/portal")

    assert 'href="/portal/tickets"' in page.text


async def test_a_new_ticket_is_opened_with_its_files_and_shown(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)

    answer = await open_through_portal(
        owner, subject="Sauvegarde échouée", body="Depuis hier\nplus rien.",
        files=[("ecran.png", png())],
    )  # fmt: skip

    assert answer.status_code == 303
    page = await owner.get(answer.headers["location"])
    assert page.status_code == 200
    assert "Sauvegarde échouée" in page.text
    assert "Depuis hier\nplus rien." in page.text
    assert "ecran.png" in page.text


async def test_sending_the_form_twice_opens_one_ticket(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    request_id = str(uuid.uuid4())

    first = await open_through_portal(owner, subject="Deux fois", request_id=request_id)
    second = await open_through_portal(owner, subject="Deux fois", request_id=request_id)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.customer_id == company.id)
        )
    assert count == 1


async def test_someone_elses_request_id_opens_a_ticket_of_ones_own(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)
    stranger, stranger_company = await owner_and_company(signed_in, sessionmaker)
    request_id = str(uuid.uuid4())
    theirs = await open_through_portal(owner, subject="Le nôtre", request_id=request_id)

    mine = await open_through_portal(stranger, subject="Le mien", request_id=request_id)

    assert mine.headers["location"] != theirs.headers["location"]
    async with sessionmaker() as db:
        ticket = await db.get(Ticket, uuid.UUID(mine.headers["location"].rsplit("/", 1)[1]))
    assert ticket.customer_id == stranger_company.id and ticket.subject == "Le mien"


async def test_bad_input_is_explained_and_kept_and_opens_nothing(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)

    answer = await open_through_portal(owner, subject="", body="Mon <message> gardé")

    assert answer.status_code == 422
    assert 'id="ticket-subject-error"' in answer.text
    assert "Mon &lt;message&gt; gardé</textarea>" in answer.text
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.customer_id == company.id)
        )
    assert count == 0


async def test_a_refused_file_is_explained_and_the_message_kept(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)

    answer = await open_through_portal(
        owner, subject="Fichier", body="Voici", files=[("page.html", b"<html><script>")]
    )

    assert answer.status_code == 422
    assert 'id="ticket-attachments-error"' in answer.text
    assert 'value="Fichier"' in answer.text


async def test_an_inactive_category_is_neither_offered_nor_accepted(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)
    retired = await make_category(sessionmaker, f"Retired {uuid.uuid4().hex[:6]}")
    async with sessionmaker() as db, db.begin():
        (await db.get(type(retired), retired.id)).active = False

    form = await owner.get("/portal/tickets/new")
    answer = await open_through_portal(owner, subject="Catégorie", category_id=str(retired.id))

    assert retired.name not in form.text
    assert answer.status_code == 422
    assert 'id="ticket-category_id-error"' in answer.text


async def test_a_customer_cannot_open_a_ticket_for_another_company(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    other = await make_customer(sessionmaker)

    answer = await open_through_portal(owner, subject="Pour moi", customer_id=str(other.id))

    async with sessionmaker() as db:
        ticket = await db.get(Ticket, uuid.UUID(answer.headers["location"].rsplit("/", 1)[1]))
    assert ticket.customer_id == company.id


async def test_the_new_ticket_form_carries_a_request_id(signed_in):
    owner = await signed_in("customer_member")

    page = await owner.get("/portal/tickets/new")

    match = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert match and uuid.UUID(match.group(1))
    assert 'enctype="multipart/form-data"' in page.text
    assert await csrf_token(owner, "/portal/tickets/new")


async def test_the_opening_message_is_on_record_with_its_file(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)

    answer = await open_through_portal(owner, subject="Fichier", files=[("a.png", png())])

    ticket_id = uuid.UUID(answer.headers["location"].rsplit("/", 1)[1])
    async with sessionmaker() as db:
        message = await db.scalar(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id))
        files = list(
            await db.scalars(
                select(TicketAttachment.filename).where(TicketAttachment.message_id == message.id)
            )
        )
    assert message.author_kind == "customer" and not message.internal
    assert files == ["a.png"]


async def test_with_htmx_a_filter_answers_only_the_results(signed_in, sessionmaker):
    owner, company = await owner_and_company(signed_in, sessionmaker)
    ticket = await make_ticket(sessionmaker, company)

    answer = await owner.get("/portal/tickets", headers={"HX-Request": "true"})

    assert answer.status_code == 200
    assert "<html" not in answer.text and "<form" not in answer.text
    assert ticket.number in answer.text


async def test_a_form_to_correct_asks_for_the_files_again(signed_in, sessionmaker):
    owner, _ = await owner_and_company(signed_in, sessionmaker)

    answer = await open_through_portal(owner, subject="", files=[("a.png", png())])

    assert answer.status_code == 422
    assert "Choose the files again" in answer.text
