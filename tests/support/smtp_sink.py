"""A real SMTP server (aiosmtpd) that keeps what it receives, and can be told to refuse or to be
slow."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    connection: tuple[str, int] = ("", 0)  # the client's address and port: one per connection

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body else ""

    @property
    def html(self) -> str:
        body = self.message.get_body(preferencelist=("html",))
        return body.get_content() if body else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.sink.lock:
            self.sink.asked_from[address] = tuple(session.peer)
        reply = self.sink.refusals.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        delay = max((self.sink.delays.get(address, 0.0) for address in envelope.rcpt_tos),
                    default=0.0)  # fmt: skip
        if delay:
            await asyncio.sleep(delay)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        mail = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed, session.peer)
        with self.sink.lock:
            self.sink.messages.append(mail)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[ReceivedMail] = []
        # address -> SMTP reply given at RCPT, e.g. "550 5.1.1 No such user" or "451 try later"
        self.refusals: dict[str, str] = {}
        # address -> the connection (client address and port) that last named it at RCPT
        self.asked_from: dict[str, tuple[str, int]] = {}
        # address -> seconds the server takes over the message before accepting it
        self.delays: dict[str, float] = {}
        self.lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.refusals.clear()
            self.delays.clear()
            self.asked_from.clear()

    def to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [mail for mail in self.messages if address in mail.recipients]

    async def wait_for(
        self, address: str, count: int = 1, within: float = 20
    ) -> list[ReceivedMail]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            received = self.to(address)
            if len(received) >= count:
                return received
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"expected {count} message(s) to {address}, got {len(self.to(address))}"
        )
