"""Mail to tickets against a real dovecot, the real worker and PostgreSQL: new mail opens a
ticket, replies thread, nothing is taken in twice, doubtful mail is held, bounces and spam open
nothing."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from db.inbound_mail import UNKNOWN_SENDERS_ID
from db.models import (
    EmailOutbox,
    EmailStatus,
    Ticket,
    TicketMessage,
    UndeliverableAddress,
)
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


async def _opened_by_mail(sessionmaker, settings, temporal_client, imap_server, person, **box):
    """A ticket opened by `person`'s mail: (mailbox, ticket row)."""
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id)
    mailbox = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id, **box)
    mailbox.deliver(mail(person.email, "Serveur en panne", "Plus rien ne répond."))
    await poll(temporal_client, settings, mailbox)
    (row,) = await inbound_rows(sessionmaker, mailbox_id=uuid.UUID(mailbox.id))
    return mailbox, await ticket_row(sessionmaker, row.id)


async def _ticket_count(sessionmaker, customer_id) -> int:
    async with sessionmaker() as db:
        return await db.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.customer_id == customer_id)
        )


async def test_a_reply_to_our_acknowledgement_joins_the_same_ticket(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink
):
    person = await make_person(sessionmaker, settings)
    mailbox, ticket = await _opened_by_mail(
        sessionmaker, settings, temporal_client, imap_server, person
    )
    (ack,) = await smtp_sink.wait_for(person.email)
    reply = mail(
        person.email, f"Re: {ack.message['Subject']}", "Merci, c'est reparti.",
        In_Reply_To=ack.message["Message-ID"], References=ack.message["References"],
    )  # fmt: skip
    mailbox.deliver(reply)

    await poll(temporal_client, settings, mailbox)

    messages = await messages_of(sessionmaker, ticket.id, count=2)
    assert [m.body for m in messages] == ["Plus rien ne répond.", "Merci, c'est reparti."]
    assert {m.channel for m in messages} == {"email"}
    assert await _ticket_count(sessionmaker, person.user.customer_id) == 1


async def test_the_acknowledgement_threads_and_says_it_is_automatic(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink
):
    person = await make_person(sessionmaker, settings)
    _, ticket = await _opened_by_mail(sessionmaker, settings, temporal_client, imap_server, person)
    (ack,) = await smtp_sink.wait_for(person.email)
    (opening,) = await inbound_rows(sessionmaker, id=ticket.id)

    headers = ack.message
    assert headers["Subject"] == f"[{ticket.number}] Serveur en panne"
    assert headers["Message-ID"].startswith(f"<tck.{ticket.id}.")
    assert headers["In-Reply-To"] == opening.message_id
    assert opening.message_id in headers["References"]
    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers["X-Auto-Response-Suppress"] == "All"
    assert "##-" in ack.text


async def test_the_same_mail_twice_and_in_two_mailboxes_is_one_message(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    person = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id)
    first = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    second = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    raw = mail(person.email, "Doublon", "Envoyé à deux adresses.")
    first.deliver(raw, raw)
    second.deliver(raw)

    await poll(temporal_client, settings, first)
    await poll(temporal_client, settings, second)

    rows = await inbound_rows(sessionmaker, customer_id=person.user.customer_id)
    assert len(rows) == 1
    await messages_of(sessionmaker, rows[0].id)
    await asyncio.sleep(1)  # time for a wrongly started second ticket to show up
    assert await _ticket_count(sessionmaker, person.user.customer_id) == 1
    assert len(await messages_of(sessionmaker, rows[0].id)) == 1


async def test_handled_mail_is_flagged_and_not_fetched_again(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    person = await make_person(sessionmaker, settings)
    mailbox, _ = await _opened_by_mail(sessionmaker, settings, temporal_client, imap_server, person)

    assert mailbox.uids("UNSEEN") == []
    assert await poll(temporal_client, settings, mailbox) == 0


async def test_handled_mail_is_moved_when_the_mailbox_says_so(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    person = await make_person(sessionmaker, settings)
    mailbox, _ = await _opened_by_mail(
        sessionmaker, settings, temporal_client, imap_server, person,
        processed_action="move", processed_folder="INBOX",
    )  # fmt: skip
    # Moving to the same folder gives the mail a new UID above the last processed one: it is
    # fetched again and recognised by its Message-ID, not taken in twice.
    assert await poll(temporal_client, settings, mailbox) == 0
    assert len(await inbound_rows(sessionmaker, mailbox_id=uuid.UUID(mailbox.id))) == 1


async def test_another_companys_sender_quoting_a_ticket_number_is_held(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    owner = await make_person(sessionmaker, settings)
    mailbox, ticket = await _opened_by_mail(
        sessionmaker, settings, temporal_client, imap_server, owner
    )
    stranger = await make_person(sessionmaker, settings)
    mailbox.deliver(mail(stranger.email, f"Re: [{ticket.number}] Serveur", "Je m'invite."))

    await poll(temporal_client, settings, mailbox)

    (held,) = await inbound_rows(sessionmaker, from_address=stranger.email)
    assert (held.status, held.reason) == ("held", "foreign_reference")
    await asyncio.sleep(1)
    assert len(await messages_of(sessionmaker, ticket.id)) == 1


async def test_a_contact_quoting_their_companys_ticket_number_joins_it(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    owner = await make_person(sessionmaker, settings)
    mailbox, ticket = await _opened_by_mail(
        sessionmaker, settings, temporal_client, imap_server, owner
    )
    mailbox.deliver(mail(owner.email, f"[{ticket.number}] encore", "Toujours en panne."))

    await poll(temporal_client, settings, mailbox)

    assert len(await messages_of(sessionmaker, ticket.id, count=2)) == 2


async def test_a_dsn_bounce_marks_the_outbound_mail_failed_and_opens_no_ticket(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink
):
    person = await make_person(sessionmaker, settings)
    mailbox, ticket = await _opened_by_mail(
        sessionmaker, settings, temporal_client, imap_server, person
    )
    (ack,) = await smtp_sink.wait_for(person.email)
    mailbox.deliver(dsn(ack.message["Message-ID"], person.email, "5.1.1"))

    await poll(temporal_client, settings, mailbox)

    (bounce,) = await inbound_rows(sessionmaker, kind="bounce", ticket_id=ticket.id)
    assert bounce.status == "bounce"
    async with sessionmaker() as db:
        outbound = await db.scalar(
            select(EmailOutbox).where(EmailOutbox.message_id == ack.message["Message-ID"])
        )
        flagged = await db.get(UndeliverableAddress, person.email.lower())
    assert outbound.status == EmailStatus.BOUNCED
    assert flagged is not None and flagged.status == "5.1.1"
    assert await _ticket_count(sessionmaker, person.user.customer_id) == 1


async def test_spam_goes_to_quarantine(
    sessionmaker, settings, temporal_client, worker, imap_server
):
    person = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id)
    mailbox = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    mailbox.deliver(mail(person.email, "Gagnez", "Vous avez gagné", X_Spam_Flag="YES"))

    await poll(temporal_client, settings, mailbox)

    (row,) = await inbound_rows(sessionmaker, mailbox_id=uuid.UUID(mailbox.id))
    assert (row.status, row.ticket_id) == ("quarantined", None)


async def test_an_unknown_sender_gets_a_ticket_in_the_unknown_senders_queue(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink, unique
):
    mailbox = await make_mailbox(sessionmaker, settings, imap_server)
    sender = f"inconnu-{unique}@elsewhere.example"
    mailbox.deliver(mail(f"Karim <{sender}>", "Question", "Bonjour, une question."))

    await poll(temporal_client, settings, mailbox)

    (row,) = await inbound_rows(sessionmaker, from_address=sender)
    ticket = await ticket_row(sessionmaker, row.id)
    assert ticket.customer_id == UNKNOWN_SENDERS_ID
    (ack,) = await smtp_sink.wait_for(sender)
    assert ticket.number in ack.message["Subject"]


async def test_an_unknown_sender_is_refused_politely_when_the_mailbox_says_so(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink, unique
):
    mailbox = await make_mailbox(
        sessionmaker, settings, imap_server, unknown_sender_policy="reject"
    )
    sender = f"inconnu-{unique}@elsewhere.example"
    mailbox.deliver(mail(sender, "Question", "Bonjour."))

    await poll(temporal_client, settings, mailbox)

    (row,) = await inbound_rows(sessionmaker, from_address=sender)
    assert (row.status, row.ticket_id) == ("rejected", None)
    (answer,) = await smtp_sink.wait_for(sender)
    assert answer.message["Auto-Submitted"] == "auto-replied"


async def test_an_out_of_office_reply_joins_its_ticket_and_is_never_answered(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink
):
    person = await make_person(sessionmaker, settings)
    mailbox, ticket = await _opened_by_mail(
        sessionmaker, settings, temporal_client, imap_server, person
    )
    (ack,) = await smtp_sink.wait_for(person.email)
    mailbox.deliver(
        mail(person.email, "Absence", "Je suis absente.", Auto_Submitted="auto-replied",
             In_Reply_To=ack.message["Message-ID"])
    )  # fmt: skip

    await poll(temporal_client, settings, mailbox)

    messages = await messages_of(sessionmaker, ticket.id, count=2)
    assert messages[-1].body == "Je suis absente."
    async with sessionmaker() as db:
        status = await db.scalar(select(Ticket.status).where(Ticket.id == ticket.id))
    assert status == "open"
    await asyncio.sleep(1)
    assert len(smtp_sink.to(person.email)) == 1


def dsn(original_id: str, recipient: str, status: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.customer.example\r\n"
        "To: support@cloudmanager.localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4()}@mx.customer.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_id}\r\nSubject: ticket\r\n"
        "--b--\r\n"
    ).encode()
