"""The queues stay index scans however many closed tickets the years leave: with thousands of
closed tickets and a few open ones, a queue's page is read from its partial index in order (no
sort of the agent's whole history), its count with a filter reads that index, and its count
without one reads the tallies, not the tickets. Checked on PostgreSQL's own plans."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from db.queries import tickets as queries
from db.session import create_engine
from tests.support.accounts import make_person
from tests.support.desks import make_desk

HISTORY = 60_000
OPEN_EVERY = 50  # as over the years: most tickets are closed

INSERT_HISTORY = text(
    """
    INSERT INTO tickets (id, number, subject, customer_id, channel, priority, status, group_id,
        assignee_id, tags, sla_state, sla_paused, escalation_level, message_count,
        projection_seq, created_at, updated_at)
    SELECT gen_random_uuid(), 'TCK-PLAN-' || :tag || '-' || n, 'Ticket ' || n, :customer_id,
        'portal', 'medium', CASE WHEN n % :open_every = 0 THEN 'open' ELSE 'closed' END,
        (:group_ids ::uuid[])[1 + n % 2], (:agent_ids ::uuid[])[1 + n % 3], '{}',
        CASE WHEN n % 7 = 0 THEN 'at_risk' ELSE 'ok' END, false, 0,
        1, 1, now() - n * interval '1 minute', now() - n * interval '1 minute'
    FROM generate_series(1, :count) AS n
    """
)


def _sql(statement) -> str:
    dialect = postgresql.dialect()
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


async def _plan(db, statement) -> str:
    rows = await db.execute(text("EXPLAIN " + _sql(statement)))
    return "\n".join(line for (line,) in rows)


@pytest.mark.parametrize(
    ("queue", "index"),
    [
        ("mine", "ix_tickets_open_assignee"),
        ("at_risk", "ix_tickets_open_sla"),
    ],
)
async def test_a_queue_page_and_its_count_read_the_open_tickets_index(
    sessionmaker, settings, database, queue, index
):
    agents = [await make_person(sessionmaker, settings, role="agent") for _ in range(3)]
    agent = agents[0]
    desk = await make_desk(sessionmaker, agent_ids=[str(agent.user.id)])
    other = await make_desk(sessionmaker, customer_id=uuid.UUID(desk.customer_id))
    filters = queries.TicketFilters(queue=queue)
    page = queries._ordered(queries._rows(agent.user.id, filters), filters).limit(25)
    # The owner's connection, in one transaction rolled back at the end: statistics are the
    # owner's to gather (as autovacuum does; the application role's ANALYZE is skipped), and
    # the other tests never see these rows.
    owner = create_engine(database[0])
    try:
        async with owner.connect() as db:
            await db.execute(INSERT_HISTORY, {
                "tag": uuid.uuid4().hex[:8], "customer_id": uuid.UUID(desk.customer_id),
                "group_ids": [uuid.UUID(desk.group_id), uuid.UUID(other.group_id)],
                "agent_ids": [person.user.id for person in agents],
                "open_every": OPEN_EVERY, "count": HISTORY,
            })  # fmt: skip
            await db.execute(text("ANALYZE tickets"))
            page_plan = await _plan(db, page)
            filtered = replace(filters, priorities=("medium",))
            count_plan = await _plan(db, queries._count(agent.user.id, filtered))
            tally_plan = await _plan(db, queries._count(agent.user.id, filters))
            await db.rollback()
    finally:
        await owner.dispose()
    assert f"Index Scan Backward using {index}" in page_plan, page_plan
    # The names are looked up for the page's rows (subplans), not joined: a join of six tables
    # cost PostgreSQL more to plan, on every page, than the page costs to read.
    assert "Join" not in page_plan and "SubPlan" in page_plan, page_plan
    # An incremental sort of the page's few rows for the id tie-break, never a full sort.
    assert "\n  ->  Sort " not in page_plan and "Sort Method: external" not in page_plan
    assert index in count_plan and "Seq Scan on tickets" not in count_plan, count_plan
    assert "ticket_queue_tallies" in tally_plan and " tickets " not in tally_plan, tally_plan
