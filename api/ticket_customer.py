"""Linking a ticket to the customer it is for: a mail from an unknown sender opens a ticket in the
"unknown senders" queue (db.inbound_mail); once the agent knows who wrote — the sender is, or
has been made, a user of a customer — the ticket moves to that customer, with the sender as its
requester. The workflow's validator decides whether the ticket may still change (staff only,
not closed, not merged); the change is audited.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api import audit, tickets
from api.audit import Actor
from api.identity.accounts import InputError
from db.inbound_mail import contact
from db.models import Customer, Ticket
from i18n import N_
from workflows.ticket_messages import Author, SetCustomer, TicketView
from workflows.tickets import TicketWorkflow

NOT_A_CONTACT = N_("No customer's user has this address: add them to the customer first.")
SAME_CUSTOMER = N_("The ticket is already this customer's.")


async def link_to_contact(
    client: Client, db: AsyncSession, actor: Actor, author: Author, ticket: Ticket,
    address: str, request_id: str,
) -> TicketView:  # fmt: skip
    """Move `ticket` to the customer whose active user has `address`, that user its requester.
    `InputError` (field "customer") when nobody has it or the ticket is already theirs."""
    user = await contact(db, address.strip())
    if user is None or user.customer_id is None:
        raise InputError({"customer": (NOT_A_CONTACT, {})})
    if user.customer_id == ticket.customer_id and user.id == ticket.requester_id:
        raise InputError({"customer": (SAME_CUSTOMER, {})})
    customer = await db.get_one(Customer, user.customer_id)
    before = {"customer_id": str(ticket.customer_id), "requester_id": str(ticket.requester_id)}
    await db.commit()  # ends the reads before waiting on the workflow
    change = SetCustomer(request_id, author, str(customer.id), customer.name, str(user.id))
    view = await tickets.update(client, ticket.id, TicketWorkflow.set_customer, change)
    audit.record(
        db, actor, "ticket.customer_linked", target_type="ticket", target_id=ticket.id,
        before=before, after={"customer_id": str(customer.id), "requester_id": str(user.id)},
    )  # fmt: skip
    await db.commit()
    return view
