"""Where an inbound mail goes, decided once, before anything is done with it.

In this order: spam to quarantine; our own mail ignored (never fetch what we sent); a bounce
marks the mail it reports and opens nothing; a reply whose In-Reply-To / References name a mail
we sent or received joins that ticket; a `[TCK-…]` number in the subject joins that ticket
**only** when the sender is a contact of the ticket's company (otherwise the mail is held: the
privacy bug where anyone quoting a number writes into someone else's ticket); an auto-reply
that threads nowhere is held (never a ticket, never answered); a contact's mail opens a ticket
for their company; an unknown sender's opens one in the "unknown senders" queue, or is
politely refused, as the mailbox says.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.mail_classification import Bounce, Classification
from activities.mail_parsing import ParsedMail
from activities.mail_threading import inbound_id, ticket_in_message_id, ticket_number_in
from db.inbound_mail import contact, unknown_senders
from db.models import (
    EmailOutbox,
    EmailStatus,
    InboundMessage,
    Mailbox,
    Ticket,
    UndeliverableAddress,
    User,
)

MERGE_DEPTH = 10


@dataclass
class Route:
    status: str  # ticket | reply | held | quarantined | bounce | rejected | ignored
    reason: str = ""
    ticket_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    author: User | None = None


async def route(
    db: AsyncSession, mail: ParsedMail, kind: Classification, mailbox: Mailbox, *,
    own_addresses: frozenset[str], domain: str,
) -> Route:  # fmt: skip
    if kind.kind == "spam":
        return Route("quarantined", "spam")
    if mail.from_address in own_addresses or await _we_sent(db, mail.message_id):
        return Route("ignored", "own_mail")
    if kind.kind == "bounce":
        assert kind.bounce is not None
        return Route("bounce", "", await record_bounce(db, kind.bounce))
    sender = await contact(db, mail.from_address)
    threaded = await _thread(db, mail.thread_ids, domain)
    if threaded is not None:
        ticket_id, customer_id = threaded
        author = sender if sender and sender.customer_id == customer_id else None
        return Route("reply", "", ticket_id, customer_id, author)
    number = ticket_number_in(mail.subject)
    referenced = await _ticket_by_number(db, number) if number else None
    if referenced is not None:
        if sender is not None and sender.customer_id == referenced.customer_id:
            ticket_id, customer_id = await _surviving(db, referenced.id)
            return Route("reply", "", ticket_id, customer_id, sender)
        return Route("held", "foreign_reference")
    if kind.kind == "auto_reply":
        return Route("held", "auto_reply")
    if sender is not None:
        return Route("ticket", "", customer_id=sender.customer_id, author=sender)
    if mailbox.unknown_sender_policy == "reject":
        return Route("rejected", "unknown_sender")
    return Route("ticket", "unknown_sender", customer_id=await unknown_senders(db))


async def record_bounce(db: AsyncSession, bounce: Bounce) -> uuid.UUID | None:
    """Mark the mail the report names (bounced, or still deferred on a 4.x.x delay), flag the
    address undeliverable on a permanent failure; the ticket the mail was about, if any."""
    if not bounce.original_message_id:
        return None
    row = await db.scalar(
        select(EmailOutbox).where(EmailOutbox.message_id == bounce.original_message_id)
    )
    if row is None:
        return None
    delayed = bounce.status.startswith("4")
    note = f"delivery report {bounce.status or '(no status)'} {bounce.recipient}".strip()
    await db.execute(
        update(EmailOutbox)
        .where(EmailOutbox.id == row.id, EmailOutbox.status != EmailStatus.BOUNCED)
        .values(status=EmailStatus.DEFERRED if delayed else EmailStatus.BOUNCED, last_error=note)
    )
    if bounce.permanent:
        address = (bounce.recipient or row.to_address).lower()
        await db.execute(
            insert(UndeliverableAddress)
            .values(address=address, status=bounce.status, outbox_id=row.id)
            .on_conflict_do_update(
                index_elements=["address"], set_={"status": bounce.status, "outbox_id": row.id}
            )
        )
    if row.subject_type == "ticket" and row.subject_id:
        return uuid.UUID(row.subject_id)
    return None


async def _we_sent(db: AsyncSession, message_id: str) -> bool:
    found = await db.scalar(select(EmailOutbox.id).where(EmailOutbox.message_id == message_id))
    return found is not None


async def _thread(
    db: AsyncSession, ids: list[str], domain: str
) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(ticket, its customer) for the nearest id that is a mail we sent or received."""
    for message_id in ids:
        ticket_id = ticket_in_message_id(message_id, domain)
        if ticket_id is None:
            sent = await db.scalar(
                select(EmailOutbox).where(
                    EmailOutbox.message_id == message_id, EmailOutbox.subject_type == "ticket"
                )
            )
            if sent is not None and sent.subject_id:
                ticket_id = uuid.UUID(sent.subject_id)
        if ticket_id is None:
            received = await db.get(InboundMessage, inbound_id(message_id))
            if received is not None and received.ticket_id is not None:
                ticket_id = received.ticket_id
                if await db.get(Ticket, ticket_id) is None:
                    # Opened by a mail of this same poll: its row is not written yet.
                    return ticket_id, received.customer_id
        if ticket_id is not None and await db.get(Ticket, ticket_id) is not None:
            return await _surviving(db, ticket_id)
    return None


async def _surviving(db: AsyncSession, ticket_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A merged ticket's mail goes to the ticket it was merged into."""
    ticket = await db.get_one(Ticket, ticket_id)
    for _ in range(MERGE_DEPTH):
        if ticket.merged_into_id is None:
            break
        ticket = await db.get_one(Ticket, ticket.merged_into_id)
    return ticket.id, ticket.customer_id


async def _ticket_by_number(db: AsyncSession, number: str) -> Ticket | None:
    return await db.scalar(select(Ticket).where(Ticket.number == number))


async def undeliverable(db: AsyncSession, addresses: list[str]) -> set[str]:
    if not addresses:
        return set()
    rows = await db.scalars(
        select(UndeliverableAddress.address).where(
            or_(*(UndeliverableAddress.address == a.lower() for a in addresses))
        )
    )
    return set(rows)
