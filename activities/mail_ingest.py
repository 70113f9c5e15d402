"""The mailbox poller's activities: `fetch_mail` reads new mail and takes each one in, in one
idempotent step keyed by its Message-ID (raw message and files stored by hash, classified,
routed, one `inbound_messages` row with the decision, a bounce's effects in the same
transaction); `mark_processed` records what the workflow did, then flags or moves the mail on
the server, then moves the mailbox's last UID.

A mail whose row exists is never decided again: the row's decision is handed back until the
row says it was applied. IMAP and parsing block, so they run in threads.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path

from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import imap
from activities.mail_answers import may_answer, own_addresses, rejection
from activities.mail_classification import classify
from activities.mail_parsing import ParsedMail, parse_mail
from activities.mail_routing import route
from activities.mail_threading import file_id, inbound_id
from db import file_checks, file_store
from db.file_checks import FileRefused, PendingFile
from db.inbound_mail import appended, author_of, open_request
from db.models import InboundMessage, MailBlocklistEntry, Mailbox, User
from workflows.mail_messages import FetchedBatch, FetchMail, InboundDecision, MarkProcessed
from workflows.mailbox_poll import FETCH_MAIL, MARK_PROCESSED
from workflows.outbound_email import SendEmail
from workflows.ticket_messages import Attachment

log = logging.getLogger(__name__)
CONNECTION_ERRORS = (
    OSError, ssl.SSLError, socket.timeout, imaplib.IMAP4.error, MailboxLoginError,
    UnexpectedCommandStatusError,
)  # fmt: skip


@dataclass(frozen=True)
class MailConfig:
    # Given by the worker (passwords are encrypted with a key derived from SECRET_KEY).
    decrypt_password: Callable[[str], str]
    uploads: Path
    max_file_bytes: int
    max_files: int
    mail_domain: str
    mail_from: str
    default_locale: str
    base_url: str


def account_of(mailbox: Mailbox, config: MailConfig) -> imap.ImapAccount:
    return imap.ImapAccount(
        host=mailbox.host, port=mailbox.port, tls_mode=mailbox.tls_mode,
        username=mailbox.username, folder=mailbox.folder,
        password=config.decrypt_password(mailbox.password_encrypted),
    )  # fmt: skip


class MailActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], config: MailConfig) -> None:
        self._sessionmaker = sessionmaker
        self._config = config

    @activity.defn(name=FETCH_MAIL)
    async def fetch_mail(self, request: FetchMail) -> FetchedBatch:
        async with self._sessionmaker() as db:
            mailbox = await db.get(Mailbox, uuid.UUID(request.mailbox_id))
        if mailbox is None or not mailbox.active:
            return FetchedBatch(0, error="inactive")
        account = account_of(mailbox, self._config)
        try:
            fetched = await asyncio.to_thread(
                imap.fetch_after, account, mailbox.last_uid, request.limit
            )
            if mailbox.uid_validity not in (None, fetched.uid_validity) and mailbox.last_uid:
                # The folder was rebuilt: its old UIDs mean nothing. Read it all again; the
                # Message-IDs keep what we already took in from counting twice.
                fetched = await asyncio.to_thread(imap.fetch_after, account, 0, request.limit)
        except CONNECTION_ERRORS as error:
            reason = f"{type(error).__name__}: {error}"[:2000]
            await self._record_failure(mailbox.id, reason)
            return FetchedBatch(0, error=reason)
        await self._record_success(mailbox.id, fetched.uid_validity)
        decisions = []
        for _, raw in fetched.messages:
            decision = await self._take_in(mailbox, raw)
            if decision is not None:
                decisions.append(decision)
            activity.heartbeat()
        uids = [uid for uid, _ in fetched.messages]
        return FetchedBatch(fetched.uid_validity, uids, decisions, fetched.more)

    @activity.defn(name=MARK_PROCESSED)
    async def mark_processed(self, request: MarkProcessed) -> None:
        mailbox_id = uuid.UUID(request.mailbox_id)
        async with self._sessionmaker() as db, db.begin():
            for outcome in request.outcomes:
                row_id = uuid.UUID(outcome.inbound_id)
                changes: dict = {"applied_at": func.now()}
                if outcome.followed_up:
                    changes.update(status="ticket", reason="follow_up", ticket_id=row_id)
                await db.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id == row_id, InboundMessage.applied_at.is_(None))
                    .values(**changes)
                )
            mailbox = await db.get(Mailbox, mailbox_id)
        if mailbox is None:
            return
        account = account_of(mailbox, self._config)
        await asyncio.to_thread(
            imap.mark_processed, account, request.uids, mailbox.processed_action,
            mailbox.processed_folder,
        )  # fmt: skip
        async with self._sessionmaker() as db, db.begin():
            await db.execute(
                update(Mailbox)
                .where(Mailbox.id == mailbox_id, Mailbox.uid_validity == request.uid_validity)
                .values(last_uid=func.greatest(Mailbox.last_uid, max(request.uids, default=0)))
            )

    # ------------------------------------------------------------------ one mail

    async def _take_in(self, mailbox: Mailbox, raw: bytes) -> InboundDecision | None:
        parsed = await asyncio.to_thread(parse_mail, raw)
        row_id = inbound_id(parsed.message_id)
        async with self._sessionmaker() as db, db.begin():
            existing = await db.get(InboundMessage, row_id)
            if existing is not None:
                return None if existing.applied_at else await self._decision(db, existing, mailbox)
        files, refused = await asyncio.to_thread(self._store_files, raw, parsed, row_id)
        async with self._sessionmaker() as db, db.begin():
            blocklist = list(await db.scalars(select(MailBlocklistEntry.pattern)))
            kind = classify(parsed, blocklist)
            own = await own_addresses(db, self._config.mail_from)
            routed = await route(
                db, parsed, kind, mailbox, own_addresses=own, domain=self._config.mail_domain
            )
            opened = routed.status == "ticket"
            await db.execute(
                insert(InboundMessage)
                .values(
                    id=row_id, message_id=parsed.message_id[:500], mailbox_id=mailbox.id,
                    from_address=parsed.from_address[:320], from_name=parsed.from_name[:200],
                    subject=parsed.subject, sent_at=parsed.sent_at, raw_sha256=parsed.raw_sha256,
                    raw_size=len(raw), kind=kind.kind, kind_reason=kind.reason[:200],
                    status=routed.status, reason=routed.reason,
                    ticket_id=row_id if opened else routed.ticket_id,
                    customer_id=routed.customer_id,
                    author_id=routed.author.id if routed.author else None,
                    body=parsed.reply, full_text=parsed.text, html=parsed.html,
                    attachments=[asdict(f) for f in files], refused_files=refused,
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
            )  # fmt: skip
            row = await db.get_one(InboundMessage, row_id)
            if row.applied_at is not None:
                return None
            return await self._decision(db, row, mailbox)

    async def _decision(
        self, db: AsyncSession, row: InboundMessage, mailbox: Mailbox
    ) -> InboundDecision:
        config = self._config
        answer = None
        if row.status == "rejected":
            key = f"mail-rejection:{row.id}"
            if await may_answer(db, row, key, config.mail_from):
                answer = rejection(row, domain=config.mail_domain, locale=config.default_locale)
        return await decision_for(db, row, mailbox, answer, default_locale=config.default_locale)

    def _store_files(
        self, raw: bytes, parsed: ParsedMail, row_id: uuid.UUID
    ) -> tuple[list[Attachment], list[dict]]:
        """The raw mail, and each file that passes the upload checks, stored by hash (blocking).
        Refused files are named with the reason, for the agent."""
        config = self._config
        original = PendingFile(
            "original.eml", "message/rfc822", len(raw), parsed.raw_sha256, BytesIO(raw)
        )
        file_store.write(config.uploads, original)
        kept: list[Attachment] = []
        refused: list[dict] = []
        for position, mail_file in enumerate(parsed.files):
            try:
                if len(kept) >= config.max_files:
                    raise FileRefused(file_checks.TOO_MANY, limit=config.max_files)
                checked = file_checks.check_bytes(
                    mail_file.data, mail_file.filename, config.max_file_bytes
                )
            except FileRefused as problem:
                variables = {k: str(v) for k, v in problem.variables.items()}
                refused.append(
                    {"filename": mail_file.filename, "reason": problem.reason,
                     "variables": variables}
                )  # fmt: skip
                continue
            file_store.write(config.uploads, checked)
            kept.append(
                Attachment(
                    id=str(file_id(row_id, position)), sha256=checked.sha256,
                    filename=checked.filename, content_type=checked.content_type, size=checked.size,
                )
            )  # fmt: skip
        return kept, refused

    async def _record_failure(self, mailbox_id: uuid.UUID, reason: str) -> None:
        log.warning("mailbox %s unreachable: %s", mailbox_id, reason)
        async with self._sessionmaker() as db, db.begin():
            await db.execute(
                update(Mailbox)
                .where(Mailbox.id == mailbox_id)
                .values(last_error=reason, last_error_at=func.now())
            )

    async def _record_success(self, mailbox_id: uuid.UUID, uid_validity: int) -> None:
        async with self._sessionmaker() as db, db.begin():
            mailbox = await db.get_one(Mailbox, mailbox_id, with_for_update=True)
            if mailbox.uid_validity != uid_validity:
                mailbox.uid_validity, mailbox.last_uid = uid_validity, 0
            mailbox.last_success_at = func.now()
            mailbox.last_error = ""


async def decision_for(
    db: AsyncSession, row: InboundMessage, mailbox: Mailbox | None, answer: SendEmail | None, *,
    default_locale: str,
) -> InboundDecision:  # fmt: skip
    """The poller's decision for a stored mail, from its row."""
    user = await db.get(User, row.author_id) if row.author_id else None
    author = author_of(row, user)
    locale = user.locale if user is not None and user.locale else default_locale
    group_id = str(mailbox.group_id) if mailbox is not None and mailbox.group_id else None
    customer_id = str(row.customer_id) if row.customer_id else ""
    if row.status == "ticket" and customer_id:
        request = open_request(
            row, author, customer_id=customer_id, group_id=group_id, locale=locale
        )
        return InboundDecision(str(row.id), "open", str(row.id), open_ticket=request)
    if row.status == "reply" and row.ticket_id is not None:
        follow_up = open_request(
            row, author, customer_id=customer_id, group_id=group_id, locale=locale,
            follow_up_of=str(row.ticket_id),
        ) if customer_id else None  # fmt: skip
        return InboundDecision(
            str(row.id), "append", str(row.ticket_id), open_ticket=follow_up,
            email=appended(row, author),
        )  # fmt: skip
    if row.status == "rejected" and answer is not None:
        return InboundDecision(str(row.id), "reject", rejection=answer)
    return InboundDecision(str(row.id), "none")
