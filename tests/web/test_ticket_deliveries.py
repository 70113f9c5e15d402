"""The staff timeline shows, on each message, where the emails about it went (sent, deferred,
failed, bounced), and no longer lists those emails a second time on their own."""

from __future__ import annotations

import asyncio
import re
import uuid

from sqlalchemy import select, update

from api import tickets
from db.models import EmailOutbox, EmailStatus
from tests.support.accounts import make_person
from tests.support.desks import make_desk
from tests.support.staff_tickets import EN
from workflows.ticket_messages import Author, Reply
from workflows.tickets import TicketWorkflow


async def _answered_ticket(sessionmaker, settings, temporal_client, smtp_sink):
    """A customer's ticket an agent answered; (ticket id, the reply's id, the customer)."""
    customer = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=customer.user.customer_id)
    requester = Author(str(customer.user.id), customer.user.full_name, "customer")
    view = await tickets.open_ticket(temporal_client, settings, desk.open_request(requester))
    reply_id = str(uuid.uuid4())
    agent = Author(None, "Support", "agent")
    answer = Reply(reply_id, agent, "Le serveur est relancé.")
    await tickets.update(temporal_client, view.ticket_id, TicketWorkflow.reply, answer)
    await smtp_sink.wait_for(customer.email, count=2)  # the acknowledgement, then the answer
    return view.ticket_id, reply_id, customer


async def _delivery_of(sessionmaker, reply_id: str) -> EmailOutbox:
    for _ in range(100):
        async with sessionmaker() as db:
            row = await db.scalar(select(EmailOutbox).where(EmailOutbox.related_id == reply_id))
        if row is not None and row.status == EmailStatus.SENT:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError("the answer's email was never marked sent")


def _message_block(page: str, message_id: str) -> str:
    found = re.search(rf'id="message-{message_id}".*?</li>', page, re.S)
    assert found, f"no message {message_id} on the page"
    return found.group(0)


async def test_each_message_shows_the_delivery_of_its_emails(
    signed_in, sessionmaker, settings, temporal_client, worker, smtp_sink
):
    agent = await signed_in("agent")
    ticket_id, reply_id, customer = await _answered_ticket(
        sessionmaker, settings, temporal_client, smtp_sink
    )
    await _delivery_of(sessionmaker, reply_id)

    page = await agent.get(f"/staff/tickets/{ticket_id}", headers=EN)

    block = _message_block(page.text, reply_id)
    assert f"Email to {customer.email}" in block
    assert "badge-email-sent" in block


async def test_a_bounce_shows_on_the_message_it_was_about(
    signed_in, sessionmaker, settings, temporal_client, worker, smtp_sink
):
    agent = await signed_in("agent")
    ticket_id, reply_id, _ = await _answered_ticket(
        sessionmaker, settings, temporal_client, smtp_sink
    )
    sent = await _delivery_of(sessionmaker, reply_id)
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(EmailOutbox)
            .where(EmailOutbox.id == sent.id)
            .values(status=EmailStatus.BOUNCED, last_error="delivery report 5.1.1")
        )

    page = await agent.get(f"/staff/tickets/{ticket_id}?show=messages", headers=EN)

    assert "badge-email-bounced" in _message_block(page.text, reply_id)


async def test_an_email_about_a_message_is_not_listed_again_on_its_own(
    signed_in, sessionmaker, settings, temporal_client, worker, smtp_sink
):
    agent = await signed_in("agent")
    ticket_id, reply_id, customer = await _answered_ticket(
        sessionmaker, settings, temporal_client, smtp_sink
    )
    await _delivery_of(sessionmaker, reply_id)

    page = await agent.get(f"/staff/tickets/{ticket_id}", headers=EN)

    assert page.text.count(f"Email to {customer.email}") == 2  # one per message: opening, reply
