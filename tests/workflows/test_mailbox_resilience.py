"""Mail to tickets when things go wrong: the worker dies in the middle of a batch, and an
autoresponder answers everything we send."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import func, select

from db.models import InboundMessage, Mailbox, Ticket, TicketMessage
from tests.support.accounts import make_person
from tests.support.desks import make_desk
from tests.support.mailboxes import mail, make_mailbox, poll
from tests.support.worker_process import WorkerProcess
from workflows.mail_messages import PollMailbox
from workflows.mailbox_poll import MailboxPollWorkflow

BATCH = 50


async def _count(sessionmaker, query) -> int:
    async with sessionmaker() as db:
        return await db.scalar(query)


async def _wait_until(check, within: float, what: str):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def test_a_worker_killed_in_the_middle_of_a_batch_of_fifty_takes_every_mail_in_once(
    sessionmaker, settings, temporal_client, imap_server, scratch_dir
):
    person = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id)
    mailbox = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    mailbox.deliver(*(mail(person.email, f"Panne n°{n}", f"Message {n}") for n in range(BATCH)))
    box_id = uuid.UUID(mailbox.id)
    taken_in = (
        select(func.count()).select_from(InboundMessage).where(InboundMessage.mailbox_id == box_id)
    )
    tickets = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.customer_id == person.user.customer_id)
    )
    messages = (
        select(func.count())
        .select_from(TicketMessage)
        .join(Ticket, Ticket.id == TicketMessage.ticket_id)
        .where(Ticket.customer_id == person.user.customer_id)
    )
    task_queue = f"mail-crash-{uuid.uuid4().hex[:8]}"
    log = scratch_dir / f"{task_queue}.log"
    first, second = (
        WorkerProcess(settings, task_queue, log),
        WorkerProcess(settings, task_queue, log),
    )
    first.start()
    try:
        handle = await temporal_client.start_workflow(
            MailboxPollWorkflow.run, PollMailbox(mailbox.id), id=f"crash-{uuid.uuid4()}",
            task_queue=task_queue,
        )  # fmt: skip
        await _wait_until(
            lambda: _at_least(sessionmaker, taken_in, BATCH // 3), 60, "mail being taken in"
        )
        first.kill()  # mid-batch: some mail in, none of it marked processed
        assert await _count(sessionmaker, taken_in) < BATCH
        second.start()
        assert await asyncio.wait_for(handle.result(), 240) == BATCH
        await _wait_until(
            lambda: _at_least(sessionmaker, messages, BATCH), 120, "every ticket on record"
        )
        await asyncio.sleep(2)  # time for a duplicate, if there were one, to show up
    finally:
        first.kill()
        second.kill()

    rows = await _rows(sessionmaker, box_id)
    assert len(rows) == BATCH and all(r.applied_at for r in rows)
    assert sorted(r.subject for r in rows) == sorted(f"Panne n°{n}" for n in range(BATCH))
    assert await _count(sessionmaker, tickets) == BATCH
    assert await _count(sessionmaker, messages) == BATCH
    assert mailbox.uids("UNSEEN") == []
    async with sessionmaker() as db:
        assert (await db.get(Mailbox, box_id)).last_uid == max(mailbox.uids())


async def _at_least(sessionmaker, query, count: int) -> bool:
    return await _count(sessionmaker, query) >= count


async def _rows(sessionmaker, box_id):
    async with sessionmaker() as db:
        return list(
            await db.scalars(select(InboundMessage).where(InboundMessage.mailbox_id == box_id))
        )


def _answer(received, responder: str) -> bytes:
    """What a careless autoresponder sends back: no Auto-Submitted, no Precedence, just a
    reply threaded under what it received."""
    return mail(
        responder, f"Re: {received.message['Subject']}", "Merci pour votre message !",
        In_Reply_To=received.message["Message-ID"],
    )  # fmt: skip


async def test_an_autoresponder_ping_pong_stops_within_ten_messages(
    sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink
):
    responder = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=responder.user.customer_id)
    mailbox = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    mailbox.deliver(mail(responder.email, "Alerte", "Disque plein."))
    exchanged, answered = 1, 0
    for _ in range(10):
        await poll(temporal_client, settings, mailbox)
        await asyncio.sleep(2)  # what the ticket is going to send, it has sent by now
        received = smtp_sink.to(responder.email)
        if len(received) == answered:
            break
        for message in received[answered:]:
            mailbox.deliver(_answer(message, responder.email))
            exchanged += 2
        answered = len(received)
    else:
        raise AssertionError("still exchanging mail after ten rounds")

    assert exchanged <= 10
