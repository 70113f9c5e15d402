"""Automatic answers to inbound mail (the acknowledgement of a new ticket, the polite refusal of
an unknown sender), and the rules that keep them from starting a mail loop: never to an
auto-reply, a bounce, one of our own addresses or an address that bounces, and at most one per
sender per 24 hours, decided by one guarded upsert (two polls racing cannot both win).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from activities.mail_routing import undeliverable
from activities.mail_threading import ticket_message_id, ticket_root_id
from db.models import InboundMessage, Mailbox
from workflows.outbound_email import SendEmail

ANSWER_WINDOW = timedelta(hours=24)
# The same key again (a retried decision) is the same answer, so it is allowed again.
_CLAIM = text(
    "INSERT INTO mail_acknowledgements (address, last_sent_at, last_key) "
    "VALUES (:address, :now, :key) "
    "ON CONFLICT (address) DO UPDATE SET last_sent_at = :now, last_key = :key "
    "WHERE mail_acknowledgements.last_sent_at < :since OR mail_acknowledgements.last_key = :key "
    "RETURNING address"
)
AUTOMATIC_HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}


async def own_addresses(db: AsyncSession, mail_from: str) -> frozenset[str]:
    addresses = {a.lower() for a in await db.scalars(select(Mailbox.address))}
    return frozenset(addresses | {mail_from.lower()})


async def may_answer(db: AsyncSession, inbound: InboundMessage, key: str, mail_from: str) -> bool:
    """Whether this mail may get an automatic answer; claims the sender's 24-hour slot when it
    may. Runs inside the caller's transaction."""
    address = inbound.from_address.lower()
    if not address or inbound.kind != "normal":
        return False
    if address in await own_addresses(db, mail_from) or await undeliverable(db, [address]):
        return False
    now = datetime.now(UTC)
    claimed = await db.execute(
        _CLAIM, {"address": address, "now": now, "key": key, "since": now - ANSWER_WINDOW}
    )
    return claimed.first() is not None


def answer_headers(inbound: InboundMessage, ticket_id: str | None, domain: str) -> dict[str, str]:
    """Threads the answer under the customer's own mail (and the ticket, when there is one)."""
    references = [ticket_root_id(ticket_id, domain)] if ticket_id else []
    references.append(inbound.message_id)
    return {
        **AUTOMATIC_HEADERS,
        "In-Reply-To": inbound.message_id,
        "References": " ".join(references),
    }


def rejection(inbound: InboundMessage, *, domain: str, locale: str) -> SendEmail:
    key = f"mail-rejection:{inbound.id}"
    return SendEmail(
        idempotency_key=key,
        to=inbound.from_address,
        template="mail_rejection",
        context={"subject": inbound.subject},
        locale=locale,
        subject_type="inbound_mail",
        subject_id=str(inbound.id),
        headers=answer_headers(inbound, None, domain),
        message_id=f"<reject.{inbound.id}@{domain}>",
    )


def acknowledgement(
    inbound: InboundMessage, *, key: str, ticket_id: str, number: str, subject: str,
    group_text: str, locale: str, url: str, domain: str,
) -> SendEmail:  # fmt: skip
    return SendEmail(
        idempotency_key=key,
        to=inbound.from_address,
        template="ticket_acknowledgement",
        context={
            "name": inbound.from_name or inbound.from_address,
            "number": number,
            "subject": subject,
            "group_text": group_text,
            "url": url,
        },
        locale=locale,
        subject_type="ticket",
        subject_id=ticket_id,
        related_id=ticket_id,  # the ticket's first message has the ticket's id
        headers=answer_headers(inbound, ticket_id, domain),
        message_id=ticket_message_id(ticket_id, key, domain),
    )


async def sender_of(db: AsyncSession, ticket_id: str) -> InboundMessage | None:
    """The mail that opened the ticket (its id is the ticket's), or the latest one on it."""
    opening = await db.get(InboundMessage, ticket_id)
    if opening is not None:
        return opening
    return await db.scalar(
        select(InboundMessage)
        .where(
            InboundMessage.ticket_id == ticket_id,
            or_(InboundMessage.status == "reply", InboundMessage.status == "attached"),
        )
        .order_by(InboundMessage.received_at.desc())
        .limit(1)
    )
