"""Bulk actions from the ticket list, end to end: the form starts a TicketBulkWorkflow on the real
Temporal dev server, which sends each ticket's own workflow its update; the progress page shows
how far it got and stops polling when it is done."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select
from temporalio.worker import Worker

from api import tickets
from db.models import Ticket, TicketEvent
from tests.support.admin import form_token
from tests.support.desks import make_desk
from workflows.ticket_bulk import BulkRequest, TicketBulkWorkflow
from workflows.ticket_bulk import workflow_id as bulk_workflow_id
from workflows.ticket_messages import Author, SetStatus
from workflows.tickets import TicketWorkflow

EN = {"Accept-Language": "en"}


async def _open_tickets(temporal_client, settings, sessionmaker, count: int) -> list[str]:
    desk = await make_desk(sessionmaker)
    requester = Author(None, "Amina Benali", "customer")
    views = await asyncio.gather(
        *(
            tickets.open_ticket(temporal_client, settings, desk.open_request(requester))
            for _ in range(count)
        )
    )
    return [view.ticket_id for view in views]


async def _submit(client, ticket_ids: list[str], action: str, **values) -> object:
    token = await form_token(client, "/staff/tickets?queue=all")
    data = {
        "csrf_token": token,
        "request_id": values.pop("request_id", str(uuid.uuid4())),
        "back": "/staff/tickets?queue=all",
        "ticket": ticket_ids,
        "action": action,
        **values,
    }
    return await client.post("/staff/tickets/bulk", data=data, headers=EN)


async def _finished(client, location: str) -> str:
    for _ in range(100):
        page = await client.get(location, headers=EN)
        assert page.status_code == 200, page.text[:500]
        if "Done." in page.text:
            return page.text
        await asyncio.sleep(0.2)
    raise AssertionError(f"the bulk action never finished: {page.text[:500]}")


async def _rows(sessionmaker, ticket_ids: list[str]) -> list[Ticket]:
    async with sessionmaker() as db:
        keys = [uuid.UUID(ticket_id) for ticket_id in ticket_ids]
        return list(await db.scalars(select(Ticket).where(Ticket.id.in_(keys))))


async def test_bulk_assign_gives_every_selected_ticket_to_the_agent(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    lead = await signed_in("team_lead")
    colleague = await signed_in("agent")
    ticket_ids = await _open_tickets(temporal_client, settings, sessionmaker, 3)

    answer = await _submit(lead, ticket_ids, "assign", assignee=str(colleague.person.user.id))

    assert answer.status_code == 303
    page = await _finished(lead, answer.headers["location"])
    assert "Applied: 3" in page and f"Assign to {colleague.person.user.full_name}" in page
    rows = await _rows(sessionmaker, ticket_ids)
    assert {row.assignee_id for row in rows} == {colleague.person.user.id}
    assert all(row.group_id is not None for row in rows)  # the group stays


async def test_bulk_tagging_adds_the_tag_to_the_tags_each_ticket_has(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    desk = await make_desk(sessionmaker)
    requester = Author(None, "Amina Benali", "customer")
    tagged = await tickets.open_ticket(
        temporal_client, settings, desk.open_request(requester, tags=["dns"])
    )
    plain = await tickets.open_ticket(temporal_client, settings, desk.open_request(requester))

    answer = await _submit(agent, [tagged.ticket_id, plain.ticket_id], "tag", tag="panne")
    await _finished(agent, answer.headers["location"])

    rows = {
        str(row.id): row for row in await _rows(sessionmaker, [tagged.ticket_id, plain.ticket_id])
    }
    assert rows[tagged.ticket_id].tags == ["dns", "panne"]
    assert rows[plain.ticket_id].tags == ["panne"]


async def test_a_ticket_that_refuses_the_change_is_reported_and_the_others_apply(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    resolved, open_one = await _open_tickets(temporal_client, settings, sessionmaker, 2)
    author = Author(str(agent.person.user.id), "Agent", "agent")
    await tickets.update(
        temporal_client, resolved, TicketWorkflow.set_status,
        SetStatus(str(uuid.uuid4()), author, "resolved"),
    )  # fmt: skip

    answer = await _submit(agent, [resolved, open_one], "status", status="on_hold")
    page = await _finished(agent, answer.headers["location"])

    assert "Applied: 1" in page and "Refused: 1" in page
    assert "This status change is not possible from the ticket&#39;s status." in page
    rows = {str(row.id): row.status for row in await _rows(sessionmaker, [resolved, open_one])}
    assert rows == {resolved: "resolved", open_one: "on_hold"}


async def test_a_double_submitted_bulk_form_changes_each_ticket_once(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    ticket_ids = await _open_tickets(temporal_client, settings, sessionmaker, 2)
    request_id = str(uuid.uuid4())

    first = await _submit(agent, ticket_ids, "priority", priority="urgent", request_id=request_id)
    await _finished(agent, first.headers["location"])
    second = await _submit(agent, ticket_ids, "priority", priority="urgent", request_id=request_id)

    assert second.headers["location"] == first.headers["location"]
    async with sessionmaker() as db:
        changes = await db.scalar(
            select(func.count())
            .select_from(TicketEvent)
            .where(
                TicketEvent.ticket_id.in_([uuid.UUID(key) for key in ticket_ids]),
                TicketEvent.kind == "priority_changed",
            )
        )
    assert changes == 2


async def test_bulk_close_closes_the_selected_tickets(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    ticket_ids = await _open_tickets(temporal_client, settings, sessionmaker, 2)

    answer = await _submit(agent, ticket_ids, "close")
    await _finished(agent, answer.headers["location"])

    assert {row.status for row in await _rows(sessionmaker, ticket_ids)} == {"closed"}


async def test_a_bulk_form_without_tickets_shows_the_list_again_with_the_reason(signed_in):
    agent = await signed_in("agent")

    answer = await _submit(agent, [], "tag", tag="panne")

    assert answer.status_code == 422
    assert "Select at least one ticket." in answer.text
    assert 'name="tag" type="text" maxlength="40" value="panne"' in answer.text


async def test_bulk_assign_without_an_agent_keeps_the_selection(signed_in, sessionmaker):
    from tests.support.ticket_rows import make_customer, make_ticket

    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    ticket = await make_ticket(sessionmaker, customer, "Keep me selected")
    back = f"/staff/tickets?queue=all&customer_id={customer.id}"

    token = await form_token(agent, back)
    answer = await agent.post(
        "/staff/tickets/bulk",
        data={"csrf_token": token, "ticket": [str(ticket.id)], "action": "assign", "back": back},
        headers=EN,
    )

    assert answer.status_code == 422
    assert "Choose an agent." in answer.text
    assert f'value="{ticket.id}" form="bulk-form"' in answer.text
    assert "checked" in answer.text.split(f'value="{ticket.id}" form="bulk-form"')[1][:200]


async def test_a_role_that_may_not_close_cannot_bulk_close(signed_in, sessionmaker):
    sales = await signed_in("sales")  # tickets.view only
    from tests.support.ticket_rows import make_customer, make_ticket

    ticket = await make_ticket(
        sessionmaker, await make_customer(sessionmaker), "Not yours to close"
    )

    answer = await _submit(sales, [str(ticket.id)], "close")

    assert answer.status_code == 403
    assert (await _rows(sessionmaker, [str(ticket.id)]))[0].status == "open"


async def test_the_progress_of_someone_elses_bulk_action_is_not_found(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    other = await signed_in("agent")
    ticket_ids = await _open_tickets(temporal_client, settings, sessionmaker, 1)
    answer = await _submit(agent, ticket_ids, "priority", priority="high")

    peek = await other.get(answer.headers["location"], headers=EN)
    unknown = await agent.get(f"/staff/tickets/bulk/{uuid.uuid4()}", headers=EN)

    assert peek.status_code == 404 and unknown.status_code == 404


async def test_a_finished_progress_fragment_stops_polling(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    ticket_ids = await _open_tickets(temporal_client, settings, sessionmaker, 1)
    answer = await _submit(agent, ticket_ids, "priority", priority="low")
    await _finished(agent, answer.headers["location"])

    fragment = await agent.get(answer.headers["location"], headers={**EN, "HX-Request": "true"})

    assert "Done." in fragment.text and "<html" not in fragment.text
    assert "hx-trigger" not in fragment.text and "refresh" not in fragment.text


async def test_a_bulk_run_stopped_before_the_end_says_so_and_stops_polling(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    """Terminated from the Temporal UI with tickets still to do: the page must not wait forever.

    The run lives on a task queue whose worker has no activities, so no ticket is ever handled
    before it is terminated."""
    agent = await signed_in("agent")
    ticket_ids = await _open_tickets(temporal_client, settings, sessionmaker, 2)
    bulk_id = str(uuid.uuid4())
    author = Author(str(agent.person.user.id), agent.person.user.full_name, "agent")
    queue = f"bulk-without-activities-{bulk_id}"
    async with Worker(temporal_client, task_queue=queue, workflows=[TicketBulkWorkflow]):
        handle = await temporal_client.start_workflow(
            TicketBulkWorkflow.run,
            BulkRequest(bulk_id, author, "priority", ticket_ids, "high"),
            id=bulk_workflow_id(bulk_id),
            task_queue=queue,
        )
        running = await agent.get(f"/staff/tickets/bulk/{bulk_id}", headers=EN)
        await handle.terminate("stopped by an operator")
        stopped = await agent.get(f"/staff/tickets/bulk/{bulk_id}", headers=EN)

    assert "Working…" in running.text and "hx-trigger" in running.text
    assert "Stopped before the end" in stopped.text and "0 of 2 tickets" in stopped.text
    assert "hx-trigger" not in stopped.text and "refresh" not in stopped.text
