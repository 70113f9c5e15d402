"""Held and quarantined mail, as agents decide on it: accept it as a new ticket, attach it to a
ticket they choose, or discard it. Every decision is audited. The effect (the ticket started or
signalled) comes first and is idempotent (same ids as the poller would use), then the row's
guarded update: a decision repeated, or two agents at once, change nothing more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api import audit, tickets
from api.audit import Actor
from api.settings import Settings
from api.support.common import NotFound
from db.inbound_mail import (
    appended,
    attachments_of,
    author_of,
    contact,
    open_request,
    unknown_senders,
)
from db.models import InboundMessage, Mailbox, Ticket
from db.queries.mail import HELD_STATUSES
from i18n import N_
from workflows.ticket_messages import InboundEmail, Reply
from workflows.tickets import TicketWorkflow
from workflows.tickets import workflow_id as ticket_workflow_id

NO_SUCH_TICKET = N_("No ticket has this number.")
ALREADY_DECIDED = N_("Another agent has already decided on this mail.")


class HeldMailRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def find_mail(db: AsyncSession, mail_id: uuid.UUID) -> InboundMessage:
    row = await db.get(InboundMessage, mail_id)
    if row is None:
        raise NotFound(mail_id)
    return row


async def accept(
    db: AsyncSession, client: Client, settings: Settings, actor: Actor, mail_id: uuid.UUID
) -> uuid.UUID:
    """A new ticket from the mail: for the sender's company, or the unknown senders queue."""
    row = await _held(db, mail_id)
    sender = await contact(db, row.from_address)
    customer_id = sender.customer_id if sender else await unknown_senders(db)
    await db.commit()
    mailbox = await db.get(Mailbox, row.mailbox_id) if row.mailbox_id else None
    request = open_request(
        row, author_of(row, sender), customer_id=str(customer_id),
        group_id=str(mailbox.group_id) if mailbox and mailbox.group_id else None,
        locale=sender.locale if sender else settings.default_locale,
    )  # fmt: skip
    await tickets.open_ticket(client, settings, request)
    await _decided(db, actor, row, "accepted", ticket_id=row.id, customer_id=customer_id)
    return row.id


async def attach(
    db: AsyncSession, client: Client, settings: Settings, actor: Actor, mail_id: uuid.UUID,
    number: str,
) -> str:  # fmt: skip
    """The mail as a message on the ticket the agent chose (by its number), as the customer's
    message (`tickets.customer_reply`: a merged ticket forwards it, one closed for good gets a
    follow-up). An auto-reply only joins the ticket: it changes nothing and answers nobody.
    Returns the number of the ticket it is on."""
    row = await _held(db, mail_id)
    ticket = await db.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        raise HeldMailRefused(NO_SUCH_TICKET)
    sender = await contact(db, row.from_address)
    author = author_of(row, sender if sender and sender.customer_id == ticket.customer_id else None)
    if row.kind == "auto_reply":
        landed, landed_number = ticket.id, ticket.number
        await _signal_mail(client, ticket.id, appended(row, author))
    else:
        reply = Reply(str(row.id), author, row.body, attachments_of(row), channel="email")
        outcome = await tickets.customer_reply(
            client, settings, db, ticket, reply, channel="email",
            locale=sender.locale if sender else settings.default_locale,
        )  # fmt: skip
        landed, landed_number = uuid.UUID(outcome.view.ticket_id), outcome.view.number
    await _decided(db, actor, row, "attached", ticket_id=landed)
    return landed_number


async def _signal_mail(client: Client, ticket_id: uuid.UUID, mail: InboundEmail) -> None:
    handle = client.get_workflow_handle_for(TicketWorkflow.run, ticket_workflow_id(str(ticket_id)))
    try:
        await handle.signal(TicketWorkflow.inbound_email, mail)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise tickets.TicketRefused("TicketFinished", str(error)) from error
        raise


async def discard(db: AsyncSession, actor: Actor, mail_id: uuid.UUID) -> None:
    row = await _held(db, mail_id)
    await _decided(db, actor, row, "discarded")


async def _held(db: AsyncSession, mail_id: uuid.UUID) -> InboundMessage:
    row = await find_mail(db, mail_id)
    if row.status not in HELD_STATUSES:
        raise HeldMailRefused(ALREADY_DECIDED)
    return row


async def _decided(
    db: AsyncSession, actor: Actor, row: InboundMessage, status: str, **values
) -> None:
    """Record the decision and its audit in one transaction (the session's, begun by the reads
    before), only if the mail is still undecided."""
    before, now = row.status, datetime.now(UTC)
    changed = await db.execute(
        update(InboundMessage)
        .where(InboundMessage.id == row.id, InboundMessage.status.in_(HELD_STATUSES))
        .values(
            status=status, decided_by_id=actor.user_id, decided_at=now, applied_at=now, **values
        )
    )
    if changed.rowcount:
        audit.record(
            db, actor, f"inbound_mail.{status}", target_type="inbound_mail", target_id=row.id,
            before={"status": before},
            after={"status": status, **{k: str(v) for k, v in values.items()}},
        )  # fmt: skip
    await db.commit()
