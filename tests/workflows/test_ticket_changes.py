"""TicketWorkflow updates on the dev server: exactly-once writes under retries, merge, reopen,
follow-up tickets, refused writes that change nothing, and notes that never reach customers."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import func, select, update
from temporalio import activity
from temporalio.worker import Worker

from api import tickets
from db.models import (
    EmailOutbox,
    EmailStatus,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketMessage,
    TicketWatcher,
    User,
)
from tests.support.accounts import make_person
from tests.support.desks import make_desk
from workflows.ticket_messages import (
    AddNote,
    Assign,
    Author,
    Reopen,
    Reply,
    SetStatus,
    SetTags,
    TicketChange,
    Watch,
)
from workflows.tickets import RECORD_TICKET_CHANGE, TicketWorkflow
from workflows.worker import WORKFLOWS, build_activities

AGENT = Author(None, "Karim", "agent")


def _id() -> str:
    return str(uuid.uuid4())


async def _count(sessionmaker, model, ticket_id: str, *where) -> int:
    async with sessionmaker() as db:
        return await db.scalar(
            select(func.count()).select_from(model)
            .where(model.ticket_id == uuid.UUID(ticket_id), *where)
        )  # fmt: skip


async def _row(sessionmaker, ticket_id: str) -> Ticket:
    async with sessionmaker() as db:
        return await db.get(Ticket, uuid.UUID(ticket_id))


async def _customer(sessionmaker, settings, desk=None):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    desk = desk or await make_desk(sessionmaker, customer_id=person.user.customer_id)
    return person, desk, Author(str(person.user.id), person.user.full_name, "customer")


async def test_a_write_retried_after_it_committed_leaves_one_message_and_one_event(
    temporal_client, settings, sessionmaker
):
    activities = build_activities(settings, sessionmaker)
    [real] = [a for a in activities
              if activity._Definition.from_callable(a).name == RECORD_TICKET_CHANGE]  # fmt: skip

    @activity.defn(name=RECORD_TICKET_CHANGE)
    async def commits_then_loses_the_answer(change: TicketChange) -> None:
        await real(change)
        if activity.info().attempt == 1:
            raise ConnectionResetError("the answer was lost after the commit")

    queue = f"flaky-{uuid.uuid4().hex[:8]}"
    others = [a for a in activities
              if activity._Definition.from_callable(a).name != RECORD_TICKET_CHANGE]  # fmt: skip
    desk = await make_desk(sessionmaker)
    request = desk.open_request(Author(None, "Amina", "customer"))
    async with Worker(temporal_client, task_queue=queue, workflows=list(WORKFLOWS),
                      activities=[*others, commits_then_loses_the_answer]):  # fmt: skip
        on_queue = settings.model_copy(update={"temporal_task_queue": queue})
        await tickets.open_ticket(temporal_client, on_queue, request)
        reply = Reply(_id(), AGENT, "Redémarré.")
        view = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply, reply)

    assert view.message_count == 2
    assert await _count(sessionmaker, TicketMessage, request.ticket_id) == 2
    replied = TicketEvent.kind == "replied"
    assert await _count(sessionmaker, TicketEvent, request.ticket_id, replied) == 1
    row = await _row(sessionmaker, request.ticket_id)
    assert (row.message_count, row.status) == (2, "answered")


async def test_an_update_sent_twice_under_one_request_id_applies_once(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    request = desk.open_request(Author(None, "Amina", "customer"))
    await tickets.open_ticket(temporal_client, settings, request)
    note = AddNote(_id(), AGENT, "Vérifier le disque.")

    first = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.add_note, note)
    again = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.add_note, note)

    assert first == again
    internal = TicketMessage.internal.is_(True)
    assert await _count(sessionmaker, TicketMessage, request.ticket_id, internal) == 1
    noted = TicketEvent.kind == "note_added"
    assert await _count(sessionmaker, TicketEvent, request.ticket_id, noted) == 1


async def test_a_change_the_database_refuses_changes_nothing(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    request = desk.open_request(Author(None, "Amina", "customer"))
    before = await tickets.open_ticket(temporal_client, settings, request)

    with pytest.raises(tickets.TicketRefused) as refused:
        await tickets.update(
            temporal_client, request.ticket_id, TicketWorkflow.assign,
            Assign(_id(), AGENT, group_id=_id(), assignee_id=None),
        )  # fmt: skip

    assert refused.value.kind == "InvalidReference"
    after = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply,
                                 Reply(_id(), AGENT, "Toujours là."))  # fmt: skip
    assert after.group_id == before.group_id == desk.group_id
    assert str((await _row(sessionmaker, request.ticket_id)).group_id) == desk.group_id
    assigned = TicketEvent.kind == "assigned"
    assert await _count(sessionmaker, TicketEvent, request.ticket_id, assigned) == 0


async def test_a_merge_moves_messages_and_watchers_and_closes_the_merged_ticket_with_a_link(
    temporal_client, settings, sessionmaker, worker
):
    _, desk, customer = await _customer(sessionmaker, settings)
    colleague = await make_person(sessionmaker, settings, role="agent")
    kept = desk.open_request(customer, subject="VPS lent")
    merged = desk.open_request(customer, subject="VPS toujours lent")
    target = await tickets.open_ticket(temporal_client, settings, kept)
    await tickets.open_ticket(temporal_client, settings, merged)
    await tickets.update(temporal_client, merged.ticket_id, TicketWorkflow.watch,
                         Watch(_id(), AGENT, str(colleague.user.id)))  # fmt: skip

    async with sessionmaker() as db:
        source = await db.get(Ticket, uuid.UUID(merged.ticket_id))
        view = await tickets.merge_into(temporal_client, db, source, target.number.lower(),
                                        AGENT, _id())  # fmt: skip

    assert view.status == "closed" and view.merged_into_id == kept.ticket_id
    assert await _count(sessionmaker, TicketMessage, merged.ticket_id) == 0
    assert await _count(sessionmaker, TicketMessage, kept.ticket_id) == 2
    watching = TicketWatcher.user_id == colleague.user.id
    assert await _count(sessionmaker, TicketWatcher, kept.ticket_id, watching) == 1
    survivor = await temporal_client.get_workflow_handle_for(
        TicketWorkflow.run, f"ticket-{kept.ticket_id}"
    ).query(TicketWorkflow.view)
    assert survivor.message_count == 2 and str(colleague.user.id) in survivor.watcher_ids
    kinds = set(await _kinds(sessionmaker, kept.ticket_id))
    assert "merged_from" in kinds
    assert str((await _row(sessionmaker, merged.ticket_id)).merged_into_id) == kept.ticket_id


async def _kinds(sessionmaker, ticket_id: str) -> list[str]:
    async with sessionmaker() as db:
        return list(await db.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == uuid.UUID(ticket_id))
        ))  # fmt: skip


async def test_a_merge_into_another_customers_ticket_is_refused_and_moves_nothing(
    temporal_client, settings, sessionmaker, worker
):
    mine = await make_desk(sessionmaker)
    theirs = await make_desk(sessionmaker)
    source = mine.open_request(Author(None, "Amina", "customer"))
    foreign = theirs.open_request(Author(None, "Yacine", "customer"))
    await tickets.open_ticket(temporal_client, settings, source)
    other = await tickets.open_ticket(temporal_client, settings, foreign)

    async with sessionmaker() as db:
        row = await db.get(Ticket, uuid.UUID(source.ticket_id))
        with pytest.raises(tickets.TicketRefused) as refused:
            await tickets.merge_into(temporal_client, db, row, other.number, AGENT, _id())

    assert refused.value.kind == "InvalidMerge"
    assert await _count(sessionmaker, TicketMessage, source.ticket_id) == 1
    assert (await _row(sessionmaker, source.ticket_id)).status == "open"


async def test_a_resolved_ticket_reopens_within_the_window_with_a_fresh_sla_cycle(
    temporal_client, settings, sessionmaker, worker
):
    _, desk, customer = await _customer(sessionmaker, settings)
    request = desk.open_request(customer)
    await tickets.open_ticket(temporal_client, settings, request)
    await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply,
                         Reply(_id(), AGENT, "Corrigé.", set_status="resolved"))  # fmt: skip

    view = await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reopen,
                                Reopen(_id(), customer))  # fmt: skip

    assert view.status == "open" and view.resolution_due is not None
    assert view.first_response_due is None  # the customer was answered before
    row = await _row(sessionmaker, request.ticket_id)
    assert row.status == "open" and row.resolved_at is None
    assert "reopened" in await _kinds(sessionmaker, request.ticket_id)


async def test_a_customer_reply_after_the_reopen_window_opens_a_linked_follow_up(
    temporal_client, settings, sessionmaker, worker
):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id,
                           automation={"reopen_window_days": 0})  # fmt: skip
    customer = Author(str(person.user.id), person.user.full_name, "customer")
    request = desk.open_request(customer)
    await tickets.open_ticket(temporal_client, settings, request)
    await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.set_status,
                         SetStatus(_id(), AGENT, "closed"))  # fmt: skip
    handle = temporal_client.get_workflow_handle_for(TicketWorkflow.run,
                                                     f"ticket-{request.ticket_id}")  # fmt: skip
    assert await handle.result() == "closed"  # no window: the run ends with the closing
    message = Reply(_id(), customer, "Le problème est revenu.")

    async with sessionmaker() as db:
        closed = await db.get(Ticket, uuid.UUID(request.ticket_id))
        outcome = await tickets.customer_reply(temporal_client, settings, db, closed, message)
        again = await tickets.customer_reply(temporal_client, settings, db, closed, message)

    assert outcome.follow_up and outcome.view.ticket_id == message.request_id
    assert again.view.number == outcome.view.number  # a retry opens it once
    follow_up = await _row(sessionmaker, outcome.view.ticket_id)
    assert str(follow_up.follow_up_of_id) == request.ticket_id and follow_up.status == "open"
    assert "followed_up" in await _kinds(sessionmaker, request.ticket_id)


async def test_internal_notes_never_reach_the_customers_email(
    temporal_client, settings, sessionmaker, worker, smtp_sink
):
    person, desk, customer = await _customer(sessionmaker, settings)
    request = desk.open_request(customer)
    await tickets.open_ticket(temporal_client, settings, request)
    await smtp_sink.wait_for(person.email)  # the acknowledgement
    secret = AddNote(_id(), AGENT, "Client difficile, mot de passe root: hunter2")
    await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.add_note, secret)
    await tickets.update(temporal_client, request.ticket_id, TicketWorkflow.reply,
                         Reply(_id(), AGENT, "Votre serveur est reparti."))  # fmt: skip

    mails = await smtp_sink.wait_for(person.email, count=2)

    answer = mails[-1]
    assert "Votre serveur est reparti." in answer.text
    assert all("hunter2" not in mail.text and "hunter2" not in mail.html for mail in mails)


async def _agents(sessionmaker, settings, count: int) -> list[User]:
    people = [await make_person(sessionmaker, settings, role="agent") for _ in range(count)]
    return sorted((p.user for p in people), key=lambda user: user.id)


async def test_round_robin_assignment_skips_agents_marked_away(
    temporal_client, settings, sessionmaker, worker
):
    first, away, third = await _agents(sessionmaker, settings, 3)
    async with sessionmaker() as db, db.begin():
        await db.execute(update(User).where(User.id == away.id).values(away=True))
    desk = await make_desk(sessionmaker, agent_ids=[str(u.id) for u in (first, away, third)])

    assignees = []
    for _ in range(3):
        request = desk.open_request(Author(None, "Amina", "customer"))
        assignees.append(
            (await tickets.open_ticket(temporal_client, settings, request)).assignee_id
        )

    assert assignees == [str(first.id), str(third.id), str(first.id)]


async def test_least_open_assignment_picks_the_agent_with_fewest_open_tickets(
    temporal_client, settings, sessionmaker, worker
):
    busy, free = await _agents(sessionmaker, settings, 2)
    desk = await make_desk(sessionmaker, agent_ids=[str(busy.id), str(free.id)],
                           assignment_mode="least_open")  # fmt: skip
    for _ in range(2):
        request = desk.open_request(Author(None, "Amina", "customer"), assignee_id=str(busy.id))
        await tickets.open_ticket(temporal_client, settings, request)

    request = desk.open_request(Author(None, "Amina", "customer"))
    view = await tickets.open_ticket(temporal_client, settings, request)

    assert view.assignee_id == str(free.id)


async def test_tags_can_be_added_and_taken_out_without_reading_the_others_first(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    request = desk.open_request(Author(None, "Amina", "customer"))
    await tickets.open_ticket(temporal_client, settings, request)
    tag = TicketWorkflow.tag
    await tickets.update(temporal_client, request.ticket_id, tag, SetTags(_id(), AGENT, ["vps"]))

    added = await tickets.update(temporal_client, request.ticket_id, tag,
                                 SetTags(_id(), AGENT, add=["dns"]))  # fmt: skip
    taken = await tickets.update(temporal_client, request.ticket_id, tag,
                                 SetTags(_id(), AGENT, remove=["vps"]))  # fmt: skip

    assert added.tags == ["dns", "vps"] and taken.tags == ["dns"]
    assert (await _row(sessionmaker, request.ticket_id)).tags == ["dns"]


async def test_assigning_an_agent_alone_keeps_the_group(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    agent = await make_person(sessionmaker, settings, role="agent")
    request = desk.open_request(Author(None, "Amina", "customer"))
    await tickets.open_ticket(temporal_client, settings, request)

    view = await tickets.update(
        temporal_client, request.ticket_id, TicketWorkflow.assign,
        Assign(_id(), AGENT, None, str(agent.user.id), keep_group=True),
    )  # fmt: skip

    assert view.group_id == desk.group_id and view.assignee_id == str(agent.user.id)


async def test_a_category_routes_its_tickets_to_its_group(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    async with sessionmaker() as db, db.begin():
        parent = TicketCategory(name=f"Réseau {_id()[:8]}", group_id=uuid.UUID(desk.group_id))
        db.add(parent)
        await db.flush()
        child = TicketCategory(name=f"DNS {_id()[:8]}", parent_id=parent.id)
        db.add(child)
    request = desk.open_request(Author(None, "Amina", "customer"), group_id=None,
                                category_id=str(child.id))  # fmt: skip

    view = await tickets.open_ticket(temporal_client, settings, request)

    assert view.group_id == desk.group_id  # the sub-category inherits its parent's group


async def test_an_opening_the_database_refuses_leaves_no_ticket(
    temporal_client, settings, sessionmaker, worker
):
    desk = await make_desk(sessionmaker)
    request = desk.open_request(Author(None, "Amina", "customer"), category_id=_id())

    with pytest.raises(tickets.TicketRefused) as refused:
        await tickets.open_ticket(temporal_client, settings, request)

    assert refused.value.kind == "InvalidReference"
    assert await _row(sessionmaker, request.ticket_id) is None


async def test_an_opening_is_one_transaction_and_its_emails_leave_through_the_relay(
    temporal_client, settings, sessionmaker, worker, smtp_sink
):
    """Routing, policy, number, records and assignment in one local activity, the SLA clock and
    the notifications in a second; no activity goes through the server. The acknowledgement and
    the agent's assignment email are queued with that write and sent by the email relay."""
    agent = await make_person(sessionmaker, settings, role="agent")
    person, desk, customer = await _customer(sessionmaker, settings)
    desk = await make_desk(
        sessionmaker, customer_id=person.user.customer_id, agent_ids=[str(agent.user.id)]
    )
    request = desk.open_request(customer)

    view = await tickets.open_ticket(temporal_client, settings, request)

    assert view.assignee_id == str(agent.user.id)
    handle = temporal_client.get_workflow_handle(f"ticket-{view.ticket_id}")
    events = (await handle.fetch_history()).events
    scheduled = [e for e in events if e.HasField("activity_task_scheduled_event_attributes")]
    local = [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
        for e in events
        if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    assert scheduled == []
    assert [marker["activity_type"] for marker in local] == ["open_ticket", "record_ticket_change"]
    await smtp_sink.wait_for(person.email)
    await smtp_sink.wait_for(agent.email)
    rows = await _sent_emails(sessionmaker, view.ticket_id, 2)
    assert all(row.next_attempt_at is not None for row in rows)  # the relay's, not an activity's
    kinds = await _kinds(sessionmaker, view.ticket_id)
    assert {"opened", "auto_assigned", "sla_started"} <= set(kinds)


async def _sent_emails(sessionmaker, ticket_id: str, count: int) -> list[EmailOutbox]:
    """The ticket's outbox rows, once `count` of them are recorded as sent (a relay records it
    just after the SMTP server's answer, which the sink may show first)."""
    for _ in range(100):
        async with sessionmaker() as db:
            rows = list(
                await db.scalars(select(EmailOutbox).where(EmailOutbox.subject_id == ticket_id))
            )
        if len(rows) == count and all(row.status == EmailStatus.SENT for row in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ticket_id}: {[(row.to_address, row.status) for row in rows]}")
