"""TicketWorkflow on the dev server: opening, replies, statuses, projection and idempotency."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from api import tickets
from db.models import Ticket, TicketEvent, TicketMessage
from tests.support.desks import make_desk
from workflows.ticket_messages import AddNote, Author, Reply, SetStatus
from workflows.tickets import TicketWorkflow


async def test_a_ticket_opens_with_a_number_is_auto_assigned_and_answers_updates(
    temporal_client, settings, sessionmaker, worker
):
    from tests.support.accounts import make_person

    agent = await make_person(sessionmaker, settings, role="agent")
    desk = await make_desk(sessionmaker, agent_ids=[str(agent.user.id)])
    customer = Author(str(uuid.uuid4()), "Amina", "customer")
    request = desk.open_request(Author(None, "Amina", "customer"))
    view = await tickets.open_ticket(temporal_client, settings, request)
    assert view.number.startswith("TCK-")
    assert view.assignee_id == str(agent.user.id)

    again = await tickets.open_ticket(temporal_client, settings, request)
    assert again.number == view.number

    agent_author = Author(str(agent.user.id), "Agent", "agent")
    reply = Reply(str(uuid.uuid4()), agent_author, "Nous regardons.")
    answered = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply, reply)
    assert answered.status == "answered"
    twice = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply, reply)
    assert twice.message_count == answered.message_count == 2

    with pytest.raises(tickets.TicketRefused) as refused:
        await tickets.update(
            temporal_client, request.ticket_id, TicketWorkflow.add_note,
            AddNote(str(uuid.uuid4()), customer, "sneaky"),
        )  # fmt: skip
    assert refused.value.kind == "NotAllowed"

    waiting = await tickets.update(
        temporal_client, request.ticket_id, TicketWorkflow.set_status,
        SetStatus(str(uuid.uuid4()), agent_author, "waiting_on_customer"),
    )  # fmt: skip
    assert waiting.sla_paused

    async with sessionmaker() as db:
        row = await db.get(Ticket, uuid.UUID(request.ticket_id))
        assert row.status == "waiting_on_customer" and row.assignee_id == agent.user.id
        assert row.message_count == 2
        messages = (
            await db.scalars(select(TicketMessage).where(TicketMessage.ticket_id == row.id))
        ).all()
        assert len(messages) == 2
        kinds = set(
            await db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == row.id))
        )
        assert {"opened", "auto_assigned", "replied", "status_changed", "sla_started"} <= kinds
