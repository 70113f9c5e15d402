"""`python -m bench.mail`: mail to tickets, ours beside the bare limit, in one run.

A throwaway stack (PostgreSQL, Temporal dev server, SMTP sink) plus Debian's dovecot; N mails
from N different senders are queued in one mailbox. The bare limit is an imap-tools loop that
fetches those same mails; ours is one `MailboxPollWorkflow` run taking them all in (parse,
store, classify, route, open a ticket each, mark processed) until every ticket's message is on
record. Then duplicates are counted: inbound rows, tickets and ticket messages must each equal N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from email.message import EmailMessage

from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select

from api.support.mailbox_passwords import encrypt_password
from bench.harness import Stack, machine_facts, print_table, running_stack
from cli.ports import free_port
from db.models import InboundMessage, Mailbox, Ticket, TicketMessage
from db.session import create_engine, create_sessionmaker
from tests.support.imap_server import PASSWORD, ImapServer
from workflows.mail_messages import PollMailbox
from workflows.mailbox_poll import MailboxPollWorkflow
from workflows.worker import running_worker

USER = "bench-support"


def queued_mail(count: int, batch: str) -> list[bytes]:
    mails = []
    for n in range(count):
        message = EmailMessage()
        message["From"] = f"Client {n} <client-{n}-{batch}@customers.example>"
        message["To"] = "support@cloudmanager.localhost"
        message["Subject"] = f"Panne n°{n}"
        message["Message-ID"] = f"<{batch}.{n}@customers.example>"
        message.set_content(f"Bonjour,\nle serveur {n} ne répond plus.\n")
        mails.append(message.as_bytes())
    return mails


def bare_fetch(server: ImapServer) -> tuple[float, int]:
    started = time.perf_counter()
    with MailBoxUnencrypted(server.host, server.port).login(USER, PASSWORD) as box:
        fetched = sum(1 for _ in box.fetch(mark_seen=False, bulk=100))
    return time.perf_counter() - started, fetched


async def ours(stack: Stack, server: ImapServer, count: int) -> tuple[float, dict[str, int]]:
    settings = stack.settings()
    engine = create_engine(settings.sqlalchemy_url)
    sessionmaker = create_sessionmaker(engine)
    client = await stack.temporal_client()
    async with sessionmaker() as db, db.begin():
        mailbox = Mailbox(
            name="Bench", address="support@cloudmanager.localhost", host=server.host,
            port=server.port, tls_mode="none", username=USER,
            password_encrypted=encrypt_password(settings.secret, PASSWORD),
        )  # fmt: skip
        db.add(mailbox)
    try:
        async with running_worker(client, settings, sessionmaker):
            started = time.perf_counter()
            await client.execute_workflow(
                MailboxPollWorkflow.run, PollMailbox(str(mailbox.id)),
                id=f"bench-poll-{uuid.uuid4()}", task_queue=settings.temporal_task_queue,
            )  # fmt: skip
            # Polling PostgreSQL is the point: the tickets are written by other workflows.
            while await _count(sessionmaker, TicketMessage) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - started
        counts = {
            "inbound mails": await _count(sessionmaker, InboundMessage),
            "tickets": await _count(sessionmaker, Ticket),
            "ticket messages": await _count(sessionmaker, TicketMessage),
        }
    finally:
        await engine.dispose()
    return elapsed, counts


async def _count(sessionmaker, model) -> int:
    async with sessionmaker() as db:
        return await db.scalar(select(func.count()).select_from(model))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mail", description=__doc__)
    parser.add_argument("--messages", type=int, default=1000, metavar="N")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts()
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        with running_stack() as stack:
            server = ImapServer(stack.workdir / "dovecot", free_port())
            try:
                server.start()
                server.deliver(USER, PASSWORD, *queued_mail(args.messages, uuid.uuid4().hex[:8]))
                bare_seconds, fetched = bare_fetch(server)
                our_seconds, counts = asyncio.run(ours(stack, server, args.messages))
            finally:
                server.stop()
    except KeyboardInterrupt:
        print("\ninterrupted: everything the benchmark started has been stopped", file=sys.stderr)
        return 130
    print(f"\n{args.messages} queued mails on {facts.get('cpu', '?')}\n")
    print_table(
        ["", "seconds", "mails/s"],
        [
            ["bare imap-tools fetch", f"{bare_seconds:.2f}", f"{fetched / bare_seconds:.0f}"],
            ["ours: mail to tickets", f"{our_seconds:.2f}", f"{args.messages / our_seconds:.0f}"],
        ],
    )
    duplicates = {name: value - args.messages for name, value in counts.items()}
    print()
    print_table(["", "count", "duplicates"],
                [[name, str(counts[name]), str(duplicates[name])] for name in counts])  # fmt: skip
    return 0 if fetched == args.messages and not any(duplicates.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
