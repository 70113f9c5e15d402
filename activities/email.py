"""The `send_email` activity: outbox first, then SMTP, never the same idempotency key twice.

The conversation is split so that the one moment we cannot observe is as short as possible:

1. the outbox row is written (or found) under the idempotency key, with the rendered content;
2. connect, MAIL FROM, RCPT TO — a failure here means nothing was delivered: deferred or failed;
3. the row is claimed (`pending|deferred → sending`, one winner) just before DATA;
4. DATA; the server's 250 is recorded as `sent`.

If the worker dies between the server's 250 and step 4's commit, the retry finds `sending` and
does not send again: we prefer a missing confirmation to a duplicate email.

`queue` and `conversation` are the same two halves for the email relay (activities.email_relay),
which sends what other transactions queued in the outbox, a batch per SMTP connection; only
retrying differs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal

import aiosmtplib
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.email_rendering import EmailRenderer, TemplateMissingError
from db.models import EmailOutbox, EmailStatus
from workflows.outbound_email import (
    RECORD_EMAIL_FAILURE,
    SEND_EMAIL,
    EmailDelivery,
    EmailFailure,
    SendEmail,
)

log = logging.getLogger(__name__)

# The PostgreSQL channel on which the email relay hears that rows were queued for it.
RELAY_CHANNEL = "email_outbox"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    mail_from: str
    mail_domain: str
    username: str = ""
    password: str = ""
    tls: Literal["none", "starttls", "tls"] = "none"
    timeout_seconds: float = 20.0


def message_id_for(idempotency_key: str, domain: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class EmailActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        smtp: SmtpConfig,
        renderer: EmailRenderer | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._smtp = smtp
        self._renderer = renderer or EmailRenderer()

    @activity.defn(name=SEND_EMAIL)
    async def send_email(self, request: SendEmail) -> EmailDelivery:
        row = await self._record(request)
        if row.status == EmailStatus.SENDING:
            return await self.settle_unconfirmed(row)
        if row.status not in (EmailStatus.PENDING, EmailStatus.DEFERRED):
            return _delivery(row)
        attempt = await self.deliver(row)
        if attempt.outcome == "deferred":
            await self.set_failure(row, EmailStatus.DEFERRED, attempt.reason,
                                    claimed=attempt.claimed)  # fmt: skip
            raise ApplicationError(attempt.reason, type="EmailDeferred")
        if attempt.outcome == "refused":
            await self.set_failure(row, EmailStatus.FAILED, attempt.reason,
                                    claimed=attempt.claimed)  # fmt: skip
            raise ApplicationError(attempt.reason, type="EmailRejected", non_retryable=True)
        if attempt.outcome == "sent":
            return EmailDelivery(str(row.id), row.message_id, EmailStatus.SENT.value)
        return _delivery(await self._reload(row))

    async def deliver(self, row: EmailOutbox) -> Attempt:
        """One SMTP conversation for a `pending` or `deferred` row; `sent` is recorded here, a
        failure is the caller's to record (Temporal and the relay retry differently)."""
        async with self.conversation() as smtp:
            attempt = await smtp.send(row)
        if attempt.outcome == "sent":
            await self.mark_sent([row])
        return attempt

    @contextlib.asynccontextmanager
    async def conversation(self) -> AsyncIterator[SmtpConversation]:
        """An SMTP connection that carries several rows' messages in turn (the relay sends a
        batch over one: no connect, EHLO and QUIT per email); closed when the block ends."""
        smtp = SmtpConversation(self, self._smtp)
        try:
            yield smtp
        finally:
            await smtp.close()

    @activity.defn(name=RECORD_EMAIL_FAILURE)
    async def record_email_failure(self, failure: EmailFailure) -> EmailDelivery:
        async with self._sessionmaker() as session, session.begin():
            row = await _by_key(session, failure.idempotency_key)
            if row is None:
                return EmailDelivery("", "", EmailStatus.FAILED.value)
            if row.status in (EmailStatus.PENDING, EmailStatus.DEFERRED):
                row.status = EmailStatus.FAILED
                row.last_error = failure.reason[:2000]
            return _delivery(row)

    # -- outbox ---------------------------------------------------------------------------------

    async def _record(self, request: SendEmail) -> EmailOutbox:
        async with self._sessionmaker() as session, session.begin():
            existing = await _by_key(session, request.idempotency_key)
            if existing is not None:
                return existing
            try:
                await self.queue(session, [request], for_relay=False)
            except TemplateMissingError as missing:
                raise ApplicationError(
                    f"no email template named {missing}", type="TemplateMissing", non_retryable=True
                ) from missing
            return await _by_key(session, request.idempotency_key)

    async def queue(
        self, session: AsyncSession, requests: list[SendEmail], *, for_relay: bool
    ) -> None:
        """Render the emails and write their outbox rows in the caller's transaction, once per
        idempotency key. `for_relay`: the email relay sends them (see activities.email_relay),
        from as soon as the transaction commits."""
        if not requests:
            return
        due = datetime.now(UTC) if for_relay else None
        # The rows as parameters of one cached statement (a multi-row VALUES is compiled anew).
        await session.execute(
            insert(EmailOutbox).on_conflict_do_nothing(index_elements=["idempotency_key"]),
            [self._row(request, due) for request in requests],
        )
        if for_relay:
            # Delivered to the listening relays when (and only if) the transaction commits.
            await session.execute(text(f"NOTIFY {RELAY_CHANNEL}"))

    def _row(self, request: SendEmail, due: datetime | None) -> dict[str, object]:
        rendered = self._renderer.render(request.template, request.context, request.locale)
        return {
            "idempotency_key": request.idempotency_key,
            "message_id": request.message_id
            or message_id_for(request.idempotency_key, self._smtp.mail_domain),
            "template": request.template,
            "locale": request.locale,
            "to_address": request.to,
            "subject": rendered.subject,
            "body_text": rendered.text,
            "body_html": rendered.html,
            "subject_type": request.subject_type,
            "subject_id": request.subject_id,
            "related_id": request.related_id,
            "headers": request.headers,
            "automatic": request.automatic,
            "status": EmailStatus.PENDING,
            "attempts": 0,
            "last_error": "",
            "next_attempt_at": due,
        }

    async def claim(self, row: EmailOutbox) -> bool:
        """`pending|deferred → sending` just before DATA; False when another attempt won."""
        async with self._sessionmaker() as session, session.begin():
            claimed = await session.execute(
                update(EmailOutbox)
                .where(
                    EmailOutbox.id == row.id,
                    EmailOutbox.status.in_([EmailStatus.PENDING, EmailStatus.DEFERRED]),
                )
                .values(status=EmailStatus.SENDING, attempts=EmailOutbox.attempts + 1)
            )
            return claimed.rowcount == 1

    async def mark_sent(self, rows: list[EmailOutbox], note: str = "") -> None:
        """Record the server's 250 for these rows, in one statement. Until it commits they stay
        `sending`, which a later attempt settles as sent: never a second delivery."""
        if not rows:
            return
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(EmailOutbox)
                .where(
                    EmailOutbox.id.in_([row.id for row in rows]),
                    EmailOutbox.status == EmailStatus.SENDING,
                )
                .values(status=EmailStatus.SENT, sent_at=func.now(), last_error=note)
            )

    async def settle_unconfirmed(self, row: EmailOutbox) -> EmailDelivery:
        log.warning("email %s was handed to SMTP by an attempt that never confirmed", row.id)
        await self.mark_sent(
            [row], "delivery not confirmed: the sending attempt stopped after DATA"
        )
        return _delivery(await self._reload(row))

    # An attempt counts once: in the claim when it got as far as DATA, here when it did not.
    async def set_failure(
        self, row: EmailOutbox, status: EmailStatus, reason: str, *, claimed: bool,
        next_attempt_at: datetime | None = None,
    ) -> None:  # fmt: skip
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(EmailOutbox)
                .where(EmailOutbox.id == row.id, EmailOutbox.status != EmailStatus.SENT)
                .values(
                    status=status,
                    last_error=reason[:2000],
                    attempts=EmailOutbox.attempts + (0 if claimed else 1),
                    next_attempt_at=next_attempt_at,
                )
            )

    async def _reload(self, row: EmailOutbox) -> EmailOutbox:
        async with self._sessionmaker() as session:
            return await session.get_one(EmailOutbox, row.id)

    def build_message(self, row: EmailOutbox) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._smtp.mail_from
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = row.message_id
        if row.automatic:
            message["Auto-Submitted"] = "auto-generated"
            message["X-Auto-Response-Suppress"] = "All"
        for name, value in row.headers.items():
            del message[name]
            message[name] = value
        message.set_content(row.body_text)
        message.add_alternative(row.body_html, subtype="html")
        return message


class SmtpConversation:
    """One SMTP connection, opened at the first message and kept for the next ones (RSET after
    a refused recipient); a message that finds a reused connection dropped by the server gets a
    new one. Recording `sent` is the caller's (EmailActivities.mark_sent), so a batch records
    its deliveries in one statement."""

    def __init__(self, emails: EmailActivities, config: SmtpConfig) -> None:
        self._emails = emails
        self._config = config
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(self, row: EmailOutbox) -> Attempt:
        """MAIL, RCPT, claim the row (`sending`, one winner), DATA."""
        message = self._emails.build_message(row)
        try:
            await self._envelope(row)
        except aiosmtplib.SMTPResponseException as refused:
            await self._reset()
            return _refusal(refused, claimed=False)
        except (aiosmtplib.SMTPException, OSError) as unreachable:
            self._drop()
            return Attempt("deferred", f"SMTP server unreachable: {unreachable}")

        if not await self._emails.claim(row):
            await self._reset()  # another attempt is delivering it
            return Attempt("taken")

        try:
            await self._smtp.data(message.as_bytes())
        except aiosmtplib.SMTPResponseException as refused:
            await self._reset()
            return _refusal(refused, claimed=True)
        except (aiosmtplib.SMTPException, OSError) as lost:
            # The link died before the server's answer: as every MTA does, we retry. A duplicate
            # is possible only if the server had committed the message in that instant.
            self._drop()
            return Attempt("deferred", f"connection lost during DATA: {lost}", claimed=True)
        return Attempt("sent")

    async def _envelope(self, row: EmailOutbox) -> None:
        reused = self._smtp is not None
        try:
            await self._mail_and_rcpt(row)
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            # Servers close idle or long-lived connections: once more on a new one.
            self._drop()
            await self._mail_and_rcpt(row)

    async def _mail_and_rcpt(self, row: EmailOutbox) -> None:
        if self._smtp is None:
            self._smtp = self._client()
            await self._smtp.connect()
            if self._config.username:
                await self._smtp.login(self._config.username, self._config.password)
        await self._smtp.mail(_address(self._config.mail_from))
        await self._smtp.rcpt(row.to_address)

    def _client(self) -> aiosmtplib.SMTP:
        config = self._config
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout_seconds,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            tls_context=ssl.create_default_context() if config.tls != "none" else None,
            # Our name in EHLO: the mail domain, rather than socket.getfqdn(), a name lookup
            # per connection (as costly as the rest of the conversation, bench.ticket_budget).
            local_hostname=config.mail_domain,
        )

    async def _reset(self) -> None:
        """Ready for the next message after a refusal: RSET, or a new connection next time."""
        if self._smtp is None or not self._smtp.is_connected:
            self._drop()
            return
        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            self._smtp.close()
        self._smtp = None

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._smtp.close()
        self._smtp = None


async def _by_key(session: AsyncSession, key: str) -> EmailOutbox | None:
    return await session.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == key))


@dataclass(frozen=True)
class Attempt:
    """How one SMTP conversation ended. `taken`: another attempt claimed the row first.
    `claimed`: it got as far as DATA (the attempt is counted in the claim)."""

    outcome: Literal["sent", "deferred", "refused", "taken"]
    reason: str = ""
    claimed: bool = False


def _refusal(refused: aiosmtplib.SMTPResponseException, *, claimed: bool) -> Attempt:
    # 4xx is "try later", as every MTA reads it; 5xx is for good.
    reason = f"SMTP {refused.code}: {refused.message}"
    outcome = "deferred" if 400 <= refused.code < 500 else "refused"
    return Attempt(outcome, reason, claimed=claimed)


def _delivery(row: EmailOutbox) -> EmailDelivery:
    return EmailDelivery(str(row.id), row.message_id, EmailStatus(row.status).value)


def _address(header_value: str) -> str:
    return parseaddr(header_value)[1]
