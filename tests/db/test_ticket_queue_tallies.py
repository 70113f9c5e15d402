"""The queue tallies (migration 0009) follow every write to the tickets: each tally row always
holds what counting the tickets would say, and the sidebar's counts read from them are exact,
however large a queue."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Ticket
from db.queries.tickets import queue_counts
from db.session import create_engine
from tests.support.ticket_rows import make_customer, make_group, make_staff, make_ticket

# Every tally row next to the count of the tickets it stands for (the queues of
# db.queries.tickets: open means neither resolved nor closed).
TALLIES_VERSUS_TICKETS = text(
    """
    WITH open_tickets AS (SELECT * FROM tickets WHERE status NOT IN ('resolved', 'closed')),
    counted AS (
        SELECT 'all' AS queue, NULL::uuid AS owner_id, count(*) AS tickets FROM tickets
        UNION ALL
        SELECT 'assignee', assignee_id, count(*) FROM open_tickets
         WHERE assignee_id IS NOT NULL GROUP BY assignee_id
        UNION ALL
        SELECT 'unassigned', NULL, count(*) FROM open_tickets WHERE assignee_id IS NULL
        UNION ALL
        SELECT 'group', group_id, count(*) FROM open_tickets
         WHERE group_id IS NOT NULL GROUP BY group_id
        UNION ALL
        SELECT sla_state, NULL, count(*) FROM open_tickets
         WHERE sla_state IN ('at_risk', 'breached') GROUP BY sla_state
    )
    SELECT coalesce(tally.queue, counted.queue) AS queue,
           coalesce(tally.owner_id, counted.owner_id) AS owner_id,
           coalesce(tally.tickets, 0) AS tallied, coalesce(counted.tickets, 0) AS counted
      FROM ticket_queue_tallies AS tally
      FULL JOIN counted
        ON counted.queue = tally.queue AND counted.owner_id IS NOT DISTINCT FROM tally.owner_id
     WHERE coalesce(tally.tickets, 0) <> coalesce(counted.tickets, 0)
    """
)


async def _mismatches(sessionmaker) -> list:
    # One snapshot for both sides: the tallies and the tickets as of the same moment.
    async with sessionmaker() as db:
        await db.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return list(await db.execute(TALLIES_VERSUS_TICKETS))


async def _counts(sessionmaker, viewer_id: uuid.UUID) -> dict[str, int]:
    async with sessionmaker() as db:
        return await queue_counts(db, viewer_id)


async def test_the_tallies_follow_opening_assigning_closing_and_deleting(sessionmaker):
    me = await make_staff(sessionmaker)
    colleague = await make_staff(sessionmaker)
    group = await make_group(sessionmaker, me.id)
    customer = await make_customer(sessionmaker)
    mine = await make_ticket(sessionmaker, customer, assignee_id=me.id, group_id=group.id)
    await make_ticket(sessionmaker, customer, assignee_id=me.id, status="waiting_on_customer")
    await make_ticket(sessionmaker, customer, assignee_id=me.id, status="closed")
    waiting = await make_ticket(sessionmaker, customer, group_id=group.id, sla_state="at_risk")

    counts = await _counts(sessionmaker, me.id)
    assert (counts["mine"], counts["my_groups"]) == (2, 2)

    async with sessionmaker() as db, db.begin():
        # Resolved: it leaves my queue and my group's; the other moves to a colleague.
        await db.execute(update(Ticket).where(Ticket.id == mine.id).values(status="resolved"))
        await db.execute(
            update(Ticket)
            .where(Ticket.id == waiting.id)
            .values(assignee_id=colleague.id, sla_state="breached")
        )
    counts = await _counts(sessionmaker, me.id)
    assert (counts["mine"], counts["my_groups"]) == (1, 1)
    assert (await _counts(sessionmaker, colleague.id))["mine"] == 1

    async with sessionmaker() as db, db.begin():
        await db.execute(delete(Ticket).where(Ticket.customer_id == customer.id))
    counts = await _counts(sessionmaker, me.id)
    assert (counts["mine"], counts["my_groups"]) == (0, 0)
    assert await _mismatches(sessionmaker) == []


async def _tally_version(sessionmaker, agent_id: uuid.UUID) -> str:
    """The transaction that last wrote the agent's tally row."""
    async with sessionmaker() as db:
        return await db.scalar(
            text(
                "SELECT xmin::text FROM ticket_queue_tallies "
                "WHERE queue = 'assignee' AND owner_id = :agent"
            ),
            {"agent": agent_id},
        )


async def test_an_update_that_moves_no_ticket_between_queues_writes_no_tally(sessionmaker):
    me = await make_staff(sessionmaker)
    ticket = await make_ticket(sessionmaker, await make_customer(sessionmaker), assignee_id=me.id)
    before = await _tally_version(sessionmaker, me.id)

    async with sessionmaker() as db, db.begin():
        # Still open, still mine: a reply.
        await db.execute(
            update(Ticket).where(Ticket.id == ticket.id).values(status="answered", message_count=2)
        )
    unchanged = await _tally_version(sessionmaker, me.id)
    async with sessionmaker() as db, db.begin():
        await db.execute(update(Ticket).where(Ticket.id == ticket.id).values(status="closed"))

    assert unchanged == before
    assert await _tally_version(sessionmaker, me.id) != before


async def test_the_sidebar_counts_are_exact_beyond_ten_thousand(sessionmaker, database):
    """The counts used to stop at 10,000 ("10 000+"); the tallies count everything. The
    tickets are written in one transaction of the owner's, rolled back."""
    agent = await make_staff(sessionmaker)
    customer = await make_customer(sessionmaker)
    owner = create_engine(database[0])
    try:
        async with owner.connect() as connection:
            await connection.execute(
                text(
                    """
                    INSERT INTO tickets (id, number, subject, customer_id, channel, priority,
                        status, assignee_id, sla_state, sla_paused, escalation_level,
                        message_count, projection_seq)
                    SELECT gen_random_uuid(), 'TCK-TALLY-' || :tag || '-' || n, 'T', :customer,
                        'portal', 'low', 'open', :agent, 'ok', false, 0, 1, 1
                    FROM generate_series(1, 10005) AS n
                    """
                ),
                {"tag": uuid.uuid4().hex[:8], "customer": customer.id, "agent": agent.id},
            )

            counts = await queue_counts(AsyncSession(bind=connection), agent.id)

            await connection.rollback()
    finally:
        await owner.dispose()
    assert counts["mine"] == 10005


async def test_a_truncate_of_the_tickets_empties_the_tallies(database):
    owner = create_engine(database[0])
    try:
        async with owner.connect() as connection:
            await connection.execute(text("TRUNCATE tickets CASCADE"))
            left = await connection.scalar(text("SELECT count(*) FROM ticket_queue_tallies"))
            await connection.rollback()
    finally:
        await owner.dispose()
    assert left == 0
