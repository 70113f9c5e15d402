"""Back-office, held and quarantined mail: agents read the original and accept it as a ticket,
attach it to a ticket they choose, or discard it; every decision audited; customers never see
the page."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from activities.mail_threading import inbound_id
from db.models import InboundMessage, Ticket
from tests.support.admin import audit_events, form_token
from tests.workflows.test_mailbox_poll import messages_of, ticket_row

EN = {"Accept-Language": "en"}


async def _held(sessionmaker, sender: str, subject: str = "Question", **values) -> uuid.UUID:
    message_id = f"<{uuid.uuid4()}@elsewhere.example>"
    row_id = inbound_id(message_id)
    async with sessionmaker() as db, db.begin():
        db.add(
            InboundMessage(
                id=row_id, message_id=message_id, from_address=sender, from_name="Karim",
                subject=subject, raw_sha256="0" * 64, raw_size=10, kind="normal",
                status=values.pop("status", "held"), reason="foreign_reference",
                body="Le texte nouveau.", full_text="Le texte nouveau.\n> ancien",
                html="<p>Le texte</p>", **values,
            )
        )  # fmt: skip
    return row_id


async def _post(client, path: str, data: dict | None = None):
    token = await form_token(client, "/staff/mail")
    return await client.post(path, data={**(data or {}), "csrf_token": token}, headers=EN)


async def test_held_mail_is_listed_with_why_it_was_held(signed_in, sessionmaker, unique):
    agent = await signed_in("agent")
    await _held(sessionmaker, f"k-{unique}@elsewhere.example", f"Sujet {unique}")

    page = await agent.get("/staff/mail?status=held", headers=EN)

    assert page.status_code == 200
    assert f"Sujet {unique}" in page.text
    assert "Quotes the number of a ticket of another company" in page.text


async def test_the_whole_original_is_viewable(signed_in, sessionmaker, unique):
    agent = await signed_in("agent")
    mail_id = await _held(sessionmaker, f"k-{unique}@elsewhere.example")

    page = await agent.get(f"/staff/mail/{mail_id}", headers=EN)

    assert "&gt; ancien" in page.text
    assert "<p>Le texte</p>" in page.text


async def test_accepting_held_mail_opens_a_ticket_and_is_audited(
    signed_in, sessionmaker, worker, unique
):
    agent = await signed_in("agent")
    mail_id = await _held(sessionmaker, f"k-{unique}@elsewhere.example")

    answer = await _post(agent, f"/staff/mail/{mail_id}/accept")

    assert answer.status_code == 303, answer.text[:500]
    ticket = await ticket_row(sessionmaker, mail_id)
    assert ticket.channel == "email"
    (message,) = await messages_of(sessionmaker, ticket.id)
    assert message.body == "Le texte nouveau."
    (event,) = await audit_events(sessionmaker, "inbound_mail.accepted", mail_id)
    assert event.actor_id == agent.person.user.id


async def test_attaching_held_mail_adds_it_to_the_chosen_ticket(
    signed_in, sessionmaker, worker, unique
):
    agent = await signed_in("agent")
    first = await _held(sessionmaker, f"a-{unique}@elsewhere.example")
    await _post(agent, f"/staff/mail/{first}/accept")
    ticket = await ticket_row(sessionmaker, first)
    second = await _held(sessionmaker, f"b-{unique}@elsewhere.example")

    answer = await _post(agent, f"/staff/mail/{second}/attach", {"number": ticket.number})

    assert answer.status_code == 303
    messages = await messages_of(sessionmaker, ticket.id, count=2)
    assert messages[-1].id == second
    assert await audit_events(sessionmaker, "inbound_mail.attached", second)


async def test_attaching_to_a_number_that_does_not_exist_is_explained(
    signed_in, sessionmaker, unique
):
    agent = await signed_in("agent")
    mail_id = await _held(sessionmaker, f"k-{unique}@elsewhere.example")

    answer = await _post(agent, f"/staff/mail/{mail_id}/attach", {"number": "TCK-1999-999999"})

    assert answer.status_code == 422
    assert "No ticket has this number." in answer.text
    assert 'value="TCK-1999-999999"' in answer.text


async def test_discarding_held_mail_is_audited_and_opens_nothing(signed_in, sessionmaker, unique):
    agent = await signed_in("agent")
    mail_id = await _held(sessionmaker, f"k-{unique}@elsewhere.example", status="quarantined")

    answer = await _post(agent, f"/staff/mail/{mail_id}/discard")

    assert answer.status_code == 303
    async with sessionmaker() as db:
        row = await db.get(InboundMessage, mail_id)
        assert row.status == "discarded"
        assert await db.scalar(select(Ticket).where(Ticket.id == mail_id)) is None
    assert await audit_events(sessionmaker, "inbound_mail.discarded", mail_id)


async def test_a_decided_mail_cannot_be_decided_again(signed_in, sessionmaker, unique):
    agent = await signed_in("agent")
    mail_id = await _held(sessionmaker, f"k-{unique}@elsewhere.example")
    await _post(agent, f"/staff/mail/{mail_id}/discard")

    answer = await _post(agent, f"/staff/mail/{mail_id}/discard")

    assert answer.status_code == 422
    assert len(await audit_events(sessionmaker, "inbound_mail.discarded", mail_id)) == 1


async def test_customers_never_reach_held_mail(signed_in, sessionmaker, unique):
    customer = await signed_in("customer_owner")
    mail_id = await _held(sessionmaker, f"k-{unique}@elsewhere.example")

    assert (await customer.get("/staff/mail")).status_code == 403
    assert (await customer.get(f"/staff/mail/{mail_id}")).status_code == 403
