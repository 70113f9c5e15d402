"""Mailboxes for the mail-to-ticket tests: a fresh IMAP account on the test dovecot, its
`mailboxes` row, and one poll run to completion (what the mailbox's schedule starts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from api.support.mailbox_passwords import encrypt_password
from db.models import InboundMessage, Mailbox
from tests.support.imap_server import PASSWORD, ImapServer
from workflows.mail_messages import PollMailbox
from workflows.mailbox_poll import MailboxPollWorkflow


@dataclass
class TestMailbox:
    id: str
    address: str
    username: str
    server: ImapServer

    def deliver(self, *messages: bytes) -> None:
        self.server.deliver(self.username, PASSWORD, *messages)

    def uids(self, criteria: str = "ALL") -> list[int]:
        return self.server.uids(self.username, PASSWORD, criteria)


async def make_mailbox(
    sessionmaker, settings, server: ImapServer, *, group_id: str | None = None, **options
) -> TestMailbox:
    unique = uuid.uuid4().hex[:10]
    username = f"support-{unique}"
    address = f"{username}@cloudmanager.localhost"
    async with sessionmaker() as db, db.begin():
        mailbox = Mailbox(
            name=f"Mailbox {unique}", address=address, host=server.host, port=server.port,
            tls_mode="none", username=username,
            password_encrypted=encrypt_password(settings.secret, PASSWORD),
            group_id=uuid.UUID(group_id) if group_id else None, **options,
        )  # fmt: skip
        db.add(mailbox)
    return TestMailbox(str(mailbox.id), address, username, server)


async def poll(temporal_client, settings, mailbox: TestMailbox, task_queue: str | None = None):
    """One poll, as the mailbox's schedule would start it; returns how many mails it handled."""
    return await temporal_client.execute_workflow(
        MailboxPollWorkflow.run,
        PollMailbox(mailbox.id),
        id=f"test-poll-{uuid.uuid4()}",
        task_queue=task_queue or settings.temporal_task_queue,
    )


def mail(
    sender: str, subject: str, body: str, *, to: str = "support@cloudmanager.localhost",
    message_id: str | None = None, **headers: str,
) -> bytes:  # fmt: skip
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


async def inbound_rows(sessionmaker, **where) -> list[InboundMessage]:
    from sqlalchemy import select

    async with sessionmaker() as db:
        query = select(InboundMessage)
        for column, value in where.items():
            query = query.where(getattr(InboundMessage, column) == value)
        return list(await db.scalars(query.order_by(InboundMessage.received_at)))
