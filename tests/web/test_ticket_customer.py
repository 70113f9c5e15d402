"""An agent links a ticket from an unknown sender to the customer who wrote: the ticket moves to
that customer with the sender as requester, through the ticket's workflow, on its timeline and
in the audit trail; an address nobody has is explained and changes nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from api import tickets
from db.inbound_mail import UNKNOWN_SENDERS_ID, unknown_senders
from db.models import Ticket, TicketEvent, TicketWatcher
from tests.support.accounts import make_person
from tests.support.admin import audit_events
from tests.support.desks import make_desk
from tests.support.staff_tickets import EN, post_form
from workflows.ticket_messages import Author, SetCustomer
from workflows.tickets import TicketWorkflow

SENDER = Author(None, "Karim <karim@elsewhere.example>", "customer")


async def _unknown_senders_ticket(temporal_client, settings, sessionmaker):
    async with sessionmaker() as db, db.begin():
        await unknown_senders(db)
    desk = await make_desk(sessionmaker)
    request = desk.open_request(SENDER, customer_id=str(UNKNOWN_SENDERS_ID), channel="email")
    return await tickets.open_ticket(temporal_client, settings, request)


async def _row(sessionmaker, ticket_id: str) -> Ticket:
    async with sessionmaker() as db:
        return await db.get_one(Ticket, uuid.UUID(ticket_id))


async def test_an_agent_links_an_unknown_senders_ticket_to_the_customer_who_wrote(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await _unknown_senders_ticket(temporal_client, settings, sessionmaker)
    contact = await make_person(sessionmaker, settings, email=f"k-{uuid.uuid4().hex[:8]}@ex.dz")

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/customer", {"address": contact.email.upper()}
    )

    assert answer.status_code == 303
    row = await _row(sessionmaker, view.ticket_id)
    assert row.customer_id == contact.user.customer_id
    assert row.requester_id == contact.user.id
    async with sessionmaker() as db:
        event = await db.scalar(
            select(TicketEvent).where(
                TicketEvent.ticket_id == row.id, TicketEvent.kind == "customer_set"
            )
        )
        watching = await db.get(TicketWatcher, (row.id, contact.user.id))
    assert event.data["before"]["customer_id"] == str(UNKNOWN_SENDERS_ID)
    assert watching is not None
    (audited,) = await audit_events(sessionmaker, "ticket.customer_linked", row.id)
    assert audited.after["customer_id"] == str(contact.user.customer_id)


async def test_the_customer_the_ticket_was_linked_to_sees_it_in_the_portal(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await _unknown_senders_ticket(temporal_client, settings, sessionmaker)
    owner = await signed_in("customer_owner")
    address = owner.person.email
    await post_form(agent, f"/staff/tickets/{view.ticket_id}/customer", {"address": address})

    page = await owner.get(f"/portal/tickets/{view.ticket_id}", headers=EN)

    assert page.status_code == 200
    assert view.number in page.text


async def test_an_address_no_customer_has_is_explained_with_the_input_kept(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await _unknown_senders_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/customer", {"address": "nobody@nowhere.example"}
    )

    assert answer.status_code == 422
    assert "No customer&#39;s user has this address" in answer.text
    assert 'value="nobody@nowhere.example"' in answer.text
    assert (await _row(sessionmaker, view.ticket_id)).customer_id == UNKNOWN_SENDERS_ID


async def test_the_link_form_is_offered_only_on_unknown_senders_tickets(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    unknown = await _unknown_senders_ticket(temporal_client, settings, sessionmaker)
    desk = await make_desk(sessionmaker)
    known = await tickets.open_ticket(temporal_client, settings, desk.open_request(SENDER))

    offered = await agent.get(f"/staff/tickets/{unknown.ticket_id}", headers=EN)
    not_offered = await agent.get(f"/staff/tickets/{known.ticket_id}", headers=EN)

    assert f'action="/staff/tickets/{unknown.ticket_id}/customer"' in offered.text
    assert f'action="/staff/tickets/{known.ticket_id}/customer"' not in not_offered.text


async def test_a_customer_cannot_move_a_ticket_to_another_customer(
    sessionmaker, settings, temporal_client, worker
):
    view = await _unknown_senders_ticket(temporal_client, settings, sessionmaker)
    change = SetCustomer(str(uuid.uuid4()), SENDER, str(uuid.uuid4()), "Autre SARL")

    try:
        await tickets.update(temporal_client, view.ticket_id, TicketWorkflow.set_customer, change)
    except tickets.TicketRefused as refused:
        assert refused.kind == "NotAllowed"
    else:
        raise AssertionError("a customer's change of customer was accepted")
    assert (await _row(sessionmaker, view.ticket_id)).customer_id == UNKNOWN_SENDERS_ID


async def test_roles_without_the_assign_permission_cannot_link(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    sales = await signed_in("sales")
    view = await _unknown_senders_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        sales, f"/staff/tickets/{view.ticket_id}/customer", {"address": "x@example.dz"}
    )

    assert answer.status_code == 403
