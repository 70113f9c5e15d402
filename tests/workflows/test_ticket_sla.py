"""The SLA rules end to end on the time-skipping server: a ticket opened through the workflow,
its deadlines read back from the projection the activities wrote, days passing in a blink.

Calendar of every desk here: Sunday–Thursday 08:00–16:30, Africa/Algiers, no holiday.
"""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from tests.support.accounts import make_person
from tests.support.desks import add_policy, make_desk, make_group
from tests.support.histories import record_history
from tests.support.ticket_timers import local, next_local, to_minute
from workflows.business_calendar import SUNDAY, THURSDAY
from workflows.search_attributes import SLA_STATE
from workflows.ticket_messages import Author, Reply, SetPriority, SetStatus
from workflows.tickets import TicketWorkflow

CUSTOMER = Author(None, "Amina Benali", "customer")
AGENT = Author(None, "Karim", "agent")


def _reply(author: Author = AGENT, **fields) -> Reply:
    return Reply(str(uuid.uuid4()), author, fields.pop("body", "Nous regardons."), **fields)


async def test_thursday_15h_plus_4_business_hours_first_response_is_due_sunday_10h30(
    ticket_clock, sessionmaker
):
    desk = await make_desk(sessionmaker, first_response=240)
    thursday = next_local(await ticket_clock.now(), THURSDAY, time(15))
    await ticket_clock.sleep_until(thursday)

    handle = await ticket_clock.open(desk.open_request(CUSTOMER))

    row = await ticket_clock.row(handle)
    assert to_minute(row.first_response_due) == local(thursday, 3, time(10, 30))
    view = await handle.query(TicketWorkflow.view)
    assert view.first_response_due == row.first_response_due
    assert row.sla_state == "ok" and "sla_started" in await ticket_clock.kinds(handle)


async def test_waiting_on_the_customer_over_a_weekend_does_not_breach(ticket_clock, sessionmaker):
    # Resolution in 3 business hours: Thursday 15:00 + 3 h would breach on Sunday at 09:30.
    desk = await make_desk(sessionmaker, first_response=None, resolution=180)
    thursday = next_local(await ticket_clock.now(), THURSDAY, time(15))
    await ticket_clock.sleep_until(thursday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))
    await ticket_clock.sleep_until(local(thursday, 0, time(15, 30)))
    await ticket_clock.update(
        handle, TicketWorkflow.reply, _reply(set_status="waiting_on_customer")
    )

    await ticket_clock.sleep_until(local(thursday, 4, time(9)))  # Monday 09:00
    row = await ticket_clock.row(handle)
    assert row.sla_state == "ok" and row.sla_paused and row.resolution_due is None
    await ticket_clock.update(
        handle, TicketWorkflow.reply, _reply(CUSTOMER, body="Toujours en panne.")
    )

    row = await ticket_clock.row(handle)
    # 30 minutes were used on Thursday; the remaining 2 h 30 count from Monday 09:00.
    assert row.status == "open" and not row.sla_paused
    assert to_minute(row.resolution_due) == local(thursday, 4, time(11, 30))
    kinds = await ticket_clock.kinds(handle)
    assert "sla_breached" not in kinds and "sla_warning" not in kinds


async def test_an_agent_reply_cancels_the_first_response_timer(ticket_clock, sessionmaker):
    desk = await make_desk(
        sessionmaker, first_response=60, next_response=None, resolution=None,
        escalation=[{"level": 1, "after_minutes": 0, "notify_lead": True}],
    )  # fmt: skip
    sunday = next_local(await ticket_clock.now(), SUNDAY, time(9))
    await ticket_clock.sleep_until(sunday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))
    await ticket_clock.sleep_until(sunday + timedelta(minutes=20))
    await ticket_clock.update(handle, TicketWorkflow.reply, _reply())

    await ticket_clock.sleep_until(sunday + timedelta(days=2))

    row = await ticket_clock.row(handle)
    assert row.first_response_due is None and row.escalation_level == 0
    assert row.sla_state == "ok"
    kinds = await ticket_clock.kinds(handle)
    assert not {"sla_warning", "sla_breached", "sla_escalated"} & set(kinds)


async def test_on_hold_shifts_deadlines_by_the_business_time_it_covered(ticket_clock, sessionmaker):
    desk = await make_desk(sessionmaker, first_response=None, resolution=240)
    thursday = next_local(await ticket_clock.now(), THURSDAY, time(15))
    await ticket_clock.sleep_until(thursday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))
    assert to_minute((await ticket_clock.row(handle)).resolution_due) == local(
        thursday, 3, time(10, 30)
    )

    await ticket_clock.sleep_until(local(thursday, 0, time(16)))
    await ticket_clock.update(
        handle, TicketWorkflow.set_status, SetStatus(str(uuid.uuid4()), AGENT, "on_hold")
    )
    await ticket_clock.sleep_until(local(thursday, 3, time(9)))  # Sunday 09:00
    await ticket_clock.update(
        handle, TicketWorkflow.set_status, SetStatus(str(uuid.uuid4()), AGENT, "in_progress")
    )

    # Paused Thursday 16:00–16:30 and Sunday 08:00–09:00: 90 business minutes, not 65 hours.
    row = await ticket_clock.row(handle)
    assert to_minute(row.resolution_due) == local(thursday, 3, time(12))


async def test_a_priority_change_reselects_the_policy(ticket_clock, sessionmaker):
    desk = await make_desk(sessionmaker, first_response=240)
    urgent = await add_policy(sessionmaker, desk, priorities=["urgent"], first_response_minutes=30)
    sunday = next_local(await ticket_clock.now(), SUNDAY, time(9))
    await ticket_clock.sleep_until(sunday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))
    assert to_minute((await ticket_clock.row(handle)).first_response_due) == local(
        sunday, 0, time(13)
    )

    await ticket_clock.update(
        handle, TicketWorkflow.set_priority, SetPriority(str(uuid.uuid4()), AGENT, "urgent")
    )

    row = await ticket_clock.row(handle)
    assert str(row.sla_policy_id) == urgent and row.priority == "urgent"
    assert to_minute(row.first_response_due) == local(sunday, 0, time(9, 30))
    assert "sla_policy_changed" in await ticket_clock.kinds(handle)


async def test_the_warning_comes_before_the_breach_in_business_time(
    ticket_clock, sessionmaker, settings, smtp_sink
):
    agent = await make_person(sessionmaker, settings, role="agent")
    desk = await make_desk(
        sessionmaker, first_response=240, next_response=None, resolution=None, warning=30,
        agent_ids=[str(agent.user.id)],
    )  # fmt: skip
    # Due Sunday 08:15: the warning is 30 business minutes before, Thursday 16:15, not 07:45.
    thursday = next_local(await ticket_clock.now(), THURSDAY, time(12, 45))
    await ticket_clock.sleep_until(thursday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))

    await ticket_clock.sleep_until(local(thursday, 0, time(16, 20)))
    row = await ticket_clock.row(handle)
    assert row.sla_state == "at_risk"
    warning = next(e for e in await ticket_clock.timeline(handle) if e.kind == "sla_warning")
    assert to_minute(warning.created_at) == local(thursday, 0, time(16, 15))
    mail = await smtp_sink.wait_for(agent.email)
    assert any(row.number in m.message["Subject"] for m in mail)

    await ticket_clock.sleep_until(local(thursday, 3, time(8, 20)))
    assert (await ticket_clock.row(handle)).sla_state == "breached"
    assert (await ticket_clock.kinds(handle)).count("sla_warning") == 1


async def test_escalation_levels_fire_in_order_with_their_actions(
    ticket_clock, sessionmaker, settings, smtp_sink
):
    lead = await make_person(sessionmaker, settings, role="team_lead")
    agent = await make_person(sessionmaker, settings, role="agent")
    second_line = await make_group(sessionmaker)
    desk = await make_desk(
        sessionmaker, first_response=60, next_response=None, resolution=None,
        agent_ids=[str(agent.user.id)], lead_id=lead.user.id,
        escalation=[
            {"level": 1, "after_minutes": 0, "notify_lead": True},
            {"level": 2, "after_minutes": 60, "notify_lead": False, "raise_priority": True},
            {"level": 3, "after_minutes": 120, "notify_lead": False,
             "reassign_group_id": uuid.UUID(second_line)},
        ],
    )  # fmt: skip
    sunday = next_local(await ticket_clock.now(), SUNDAY, time(9))
    await ticket_clock.sleep_until(sunday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))

    await ticket_clock.sleep_until(local(sunday, 0, time(10, 1)))  # breached at 10:00
    row = await ticket_clock.row(handle)
    assert row.sla_state == "breached" and row.escalation_level == 1
    assert row.priority == "medium"
    operators_see = (await handle.describe()).typed_search_attributes
    assert operators_see.get(SLA_STATE) == "breached"
    await smtp_sink.wait_for(lead.email)

    await ticket_clock.sleep_until(local(sunday, 0, time(11, 1)))
    row = await ticket_clock.row(handle)
    assert row.escalation_level == 2 and row.priority == "high"

    await ticket_clock.sleep_until(local(sunday, 0, time(12, 1)))
    row = await ticket_clock.row(handle)
    assert row.escalation_level == 3
    assert str(row.group_id) == second_line and row.assignee_id is None

    escalations = [e for e in await ticket_clock.timeline(handle) if e.kind == "sla_escalated"]
    assert [e.data["level"] for e in escalations] == [1, 2, 3]
    await record_history(handle, "ticket_escalations")
    assert [to_minute(e.created_at) for e in escalations] == [
        local(sunday, 0, time(10)), local(sunday, 0, time(11)), local(sunday, 0, time(12)),
    ]  # fmt: skip


async def test_an_escalation_level_counts_business_minutes_so_it_never_fires_at_night(
    ticket_clock, sessionmaker
):
    desk = await make_desk(
        sessionmaker, first_response=60, next_response=None, resolution=None,
        escalation=[{"level": 1, "after_minutes": 0}, {"level": 2, "after_minutes": 60}],
    )  # fmt: skip
    # Opened at 15:29, so it breaches at 16:29 (a minute before closing, the test clock's
    # milliseconds aside); level 2 comes 60 business minutes later: Sunday 08:59, not 17:29.
    thursday = next_local(await ticket_clock.now(), THURSDAY, time(15, 29))
    await ticket_clock.sleep_until(thursday)
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))

    await ticket_clock.sleep_until(local(thursday, 3, time(8, 45)))  # Sunday 08:45
    row = await ticket_clock.row(handle)
    assert row.escalation_level == 1
    await ticket_clock.sleep_until(local(thursday, 3, time(9, 1)))
    escalations = [e for e in await ticket_clock.timeline(handle) if e.kind == "sla_escalated"]
    assert [to_minute(e.created_at) for e in escalations] == [
        local(thursday, 0, time(16, 29)), local(thursday, 3, time(8, 59)),
    ]  # fmt: skip


async def test_a_resolved_ticket_closes_itself_after_the_groups_days(ticket_clock, sessionmaker):
    desk = await make_desk(sessionmaker, automation={"close_resolved_after_days": 2})
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))
    await ticket_clock.update(handle, TicketWorkflow.reply, _reply(set_status="resolved"))
    resolved_at = (await ticket_clock.row(handle)).resolved_at

    await ticket_clock.sleep_until(resolved_at + timedelta(days=2) - timedelta(minutes=5))
    assert (await ticket_clock.row(handle)).status == "resolved"
    await ticket_clock.sleep_until(resolved_at + timedelta(days=2, minutes=1))

    row = await ticket_clock.row(handle)
    assert row.status == "closed"
    closing = next(e for e in await ticket_clock.timeline(handle) if e.kind == "auto_closed")
    assert closing.data == {"reason": "resolved"}


async def test_waiting_on_the_customer_reminds_after_m_days_and_closes_after_n(
    ticket_clock, sessionmaker, settings, smtp_sink
):
    customer = await make_person(sessionmaker, settings, role="customer_owner")
    desk = await make_desk(
        sessionmaker, customer_id=customer.user.customer_id,
        automation={"remind_waiting_after_days": 1, "close_waiting_after_days": 3},
    )  # fmt: skip
    requester = Author(str(customer.user.id), customer.user.full_name, "customer")
    handle = await ticket_clock.open(desk.open_request(requester))
    await ticket_clock.update(
        handle, TicketWorkflow.reply, _reply(body="Pouvez-vous redémarrer ?",
                                             set_status="waiting_on_customer"),
    )  # fmt: skip
    waiting_since = (await ticket_clock.row(handle)).updated_at
    smtp_sink.clear()

    await ticket_clock.sleep_until(waiting_since + timedelta(days=1, minutes=1))
    assert "waiting_reminder_sent" in await ticket_clock.kinds(handle)
    reminder = await smtp_sink.wait_for(customer.email)
    assert (await ticket_clock.row(handle)).status == "waiting_on_customer"

    await ticket_clock.sleep_until(waiting_since + timedelta(days=3, minutes=1))
    row = await ticket_clock.row(handle)
    assert row.status == "closed"
    assert (await ticket_clock.kinds(handle)).count("waiting_reminder_sent") == 1
    assert len(reminder) == 1


async def test_the_run_ends_when_the_reopen_window_of_a_closed_ticket_passes(
    ticket_clock, sessionmaker
):
    desk = await make_desk(sessionmaker, automation={"reopen_window_days": 1})
    handle = await ticket_clock.open(desk.open_request(CUSTOMER))
    await ticket_clock.update(
        handle, TicketWorkflow.set_status, SetStatus(str(uuid.uuid4()), AGENT, "closed")
    )
    closed_at = (await ticket_clock.row(handle)).closed_at

    await ticket_clock.sleep_until(closed_at + timedelta(hours=23))
    assert (await handle.describe()).status.name == "RUNNING"
    await ticket_clock.sleep_until(closed_at + timedelta(days=1, minutes=1))

    assert (await handle.describe()).status.name == "COMPLETED"
