"""TicketWorkflow's history: a rich ticket life replays against today's code (and is recorded for
the replay suite), and a ticket with thousands of messages continues as new before Temporal's
history limits, keeping its state and its memory of applied requests."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from api import tickets
from api.temporal import DATA_CONVERTER
from db.models import TicketMessage
from tests.support.accounts import make_person
from tests.support.desks import make_desk
from tests.support.histories import record_history
from workflows.ticket_messages import (
    AddNote,
    Assign,
    Author,
    Reopen,
    Reply,
    SetPriority,
    SetStatus,
    SetTags,
    Watch,
)
from workflows.tickets import MAX_HISTORY_EVENTS, TicketWorkflow, workflow_id
from workflows.worker import WORKFLOWS

MESSAGES = 3_000


def _id() -> str:
    return str(uuid.uuid4())


async def test_a_rich_ticket_life_replays(temporal_client, settings, sessionmaker, worker):
    agent = await make_person(sessionmaker, settings, role="agent")
    other = await make_person(sessionmaker, settings, role="agent")
    customer = await make_person(sessionmaker, settings, role="customer_owner")
    desk = await make_desk(
        sessionmaker, customer_id=customer.user.customer_id, agent_ids=[str(agent.user.id)]
    )
    requester = Author(str(customer.user.id), customer.user.full_name, "customer")
    staff = Author(str(agent.user.id), agent.user.full_name, "agent")
    request = desk.open_request(requester)
    await tickets.open_ticket(temporal_client, settings, request)
    mention = AddNote(_id(), staff, "@lead ?", mentioned_ids=[str(other.user.id)])
    question = Reply(_id(), staff, "Quelle IP ?", set_status="waiting_on_customer")
    steps = [
        (TicketWorkflow.add_note, mention),
        (TicketWorkflow.reply, question),
        (TicketWorkflow.reply, Reply(_id(), requester, "192.0.2.10")),
        (TicketWorkflow.set_priority, SetPriority(_id(), staff, "high")),
        (TicketWorkflow.tag, SetTags(_id(), staff, ["vps", "réseau"])),
        (TicketWorkflow.watch, Watch(_id(), staff, str(other.user.id))),
        (TicketWorkflow.assign, Assign(_id(), staff, desk.group_id, str(other.user.id))),
        (TicketWorkflow.set_status, SetStatus(_id(), staff, "resolved")),
        (TicketWorkflow.reopen, Reopen(_id(), requester)),
        (TicketWorkflow.set_status, SetStatus(_id(), requester, "closed")),
    ]  # fmt: skip
    for method, message in steps:
        view = await tickets.update(temporal_client, request.ticket_id, method, message)
    assert view.status == "closed" and view.priority == "high" and view.message_count == 3

    handle = temporal_client.get_workflow_handle(workflow_id(request.ticket_id))
    history = await handle.fetch_history()
    await Replayer(workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER).replay_workflow(
        history
    )
    await record_history(handle, "ticket_life")


@pytest.mark.timeout(900)  # 3,000 sequential updates: a few minutes on a loaded machine
async def test_a_ticket_with_3000_messages_continues_as_new_and_keeps_working(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    customer = Author(None, "Amina", "customer")
    agent = Author(None, "Karim", "agent")
    request = desk.open_request(customer)
    await tickets.open_ticket(temporal_client, settings, request)
    handle = temporal_client.get_workflow_handle(workflow_id(request.ticket_id))
    runs = [(await handle.describe()).run_id]
    retried = 0

    previous = None
    for number in range(MESSAGES - 1):  # the opening message is the first
        author = agent if number % 2 else customer
        message = Reply(_id(), author, f"Message {number}")
        view = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply,
                                    message)  # fmt: skip
        run_id = (await handle.describe()).run_id
        if run_id != runs[-1]:
            runs.append(run_id)
            # The earlier run's answer to the message before the handover was lost, and its
            # sender tries again: the run that followed remembers it and applies nothing.
            again = await tickets.update(temporal_client, request.ticket_id,
                                         TicketWorkflow.reply, previous)  # fmt: skip
            assert again.message_count == view.message_count
            retried += 1
        previous = message

    assert len(runs) >= 3, "the ticket never continued as new"
    first_run = await temporal_client.get_workflow_handle(handle.id, run_id=runs[0]).fetch_history()
    assert len(first_run.events) <= MAX_HISTORY_EVENTS + 200
    assert (
        first_run.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )

    assert retried == len(runs) - 1
    assert view.message_count == MESSAGES  # the retries from earlier runs applied nothing
    assert view.number.startswith("TCK-") and view.status == "open"  # a customer wrote last
    async with sessionmaker() as db:
        stored = await db.scalar(
            select(func.count()).select_from(TicketMessage)
            .where(TicketMessage.ticket_id == uuid.UUID(request.ticket_id))
        )  # fmt: skip
    assert stored == MESSAGES
