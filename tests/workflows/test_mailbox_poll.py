"""Mail to tickets against a real dovecot, the real worker and PostgreSQL: new mail opens a
ticket, replies thread, nothing is taken in twice, doubtful mail is held, bounces and spam open
nothing."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from db.models import Ticket, TicketMessage
from tests.support.accounts import make_person
from tests.support.desks import make_desk
from tests.support.mailboxes import inbound_rows, mail, make_mailbox, poll


async def ticket_row(sessionmaker, ticket_id, within: float = 20) -> Ticket:
    """The ticket's row, once its workflow wrote it."""
    for _ in range(int(within / 0.1)):
        async with sessionmaker() as db:
            row = await db.get(Ticket, uuid.UUID(str(ticket_id)))
            if row is not None:
                return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"ticket {ticket_id} never written")


async def messages_of(sessionmaker, ticket_id, count: int = 1, within: float = 20):
    for _ in range(int(within / 0.1)):
        async with sessionmaker() as db:
            rows = list(
                await db.scalars(
                    select(TicketMessage)
                    .where(TicketMessage.ticket_id == uuid.UUID(str(ticket_id)))
                    .order_by(TicketMessage.created_at)
                )
            )
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"ticket {ticket_id} has {len(rows)} messages, expected {count}")


async def test_a_contacts_mail_opens_a_ticket_for_their_company(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    person = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id)
    mailbox = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    raw = mail(person.email, "Le serveur ne répond plus", "Bonjour,\nplus rien depuis ce matin.")
    mailbox.deliver(raw)

    assert await poll(temporal_client, settings, mailbox) == 1

    (row,) = await inbound_rows(sessionmaker, mailbox_id=uuid.UUID(mailbox.id))
    ticket = await ticket_row(sessionmaker, row.id)
    assert (ticket.customer_id, ticket.channel) == (person.user.customer_id, "email")
    assert ticket.subject == "Le serveur ne répond plus"
    assert str(ticket.group_id) == desk.group_id
    (message,) = await messages_of(sessionmaker, ticket.id)
    assert message.body == "Bonjour,\nplus rien depuis ce matin."
    assert message.author_id == person.user.id
