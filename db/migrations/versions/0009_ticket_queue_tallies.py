"""How many tickets each queue holds, kept by the transactions that write the tickets: the
back-office sidebar's counts and a queue's total read a few rows of `ticket_queue_tallies`
instead of counting index entries (the "my groups" count read 10,001 of them per page at a
million tickets, and a count of recently written tickets also visits their heap pages).

Statement triggers on `tickets` add what each INSERT, UPDATE or DELETE changes, netted per
queue (an update that moves no ticket between queues writes nothing), and empty the tallies on
TRUNCATE. The queues: every ticket ('all'); open tickets by agent ('assignee'), unassigned, by
group ('group'), at risk and breached. Open means not resolved nor closed, as in 0007.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The queues one ticket is in. Written once here and used by the triggers and the first fill.
QUEUE_KEYS = """
CREATE FUNCTION ticket_queue_keys(status text, assignee_id uuid, group_id uuid, sla_state text)
RETURNS TABLE (queue text, owner_id uuid) LANGUAGE sql IMMUTABLE AS $$
    SELECT 'all', NULL::uuid
    UNION ALL
    SELECT key.queue, key.owner_id
      FROM (VALUES ('assignee', assignee_id, assignee_id IS NOT NULL),
                   ('unassigned', NULL, assignee_id IS NULL),
                   ('group', group_id, group_id IS NOT NULL),
                   ('at_risk', NULL, sla_state = 'at_risk'),
                   ('breached', NULL, sla_state = 'breached')) AS key (queue, owner_id, holds)
     WHERE key.holds AND status NOT IN ('resolved', 'closed')
$$
"""

# Each branch adds, per tally row, what the statement's rows changed: +1 for a queue a row
# entered, -1 for one it left, netted (an update that moves no ticket writes nothing). Rows are
# added to in (queue, owner_id) order, so that two transactions moving tickets between the same
# queues lock the tally rows in the same order and cannot deadlock.
FOLLOW_TICKETS = """
CREATE FUNCTION ticket_queue_tallies_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM ticket_queue_tallies;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_queue_tallies AS tally (queue, owner_id, tickets)
        SELECT key.queue, key.owner_id, count(*)
          FROM new_tickets AS t,
               ticket_queue_keys(t.status, t.assignee_id, t.group_id, t.sla_state) AS key
         GROUP BY key.queue, key.owner_id
         ORDER BY key.queue, key.owner_id
            ON CONFLICT (queue, owner_id) DO UPDATE SET tickets = tally.tickets + excluded.tickets;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ticket_queue_tallies AS tally (queue, owner_id, tickets)
        SELECT key.queue, key.owner_id, -count(*)
          FROM old_tickets AS t,
               ticket_queue_keys(t.status, t.assignee_id, t.group_id, t.sla_state) AS key
         GROUP BY key.queue, key.owner_id
         ORDER BY key.queue, key.owner_id
            ON CONFLICT (queue, owner_id) DO UPDATE SET tickets = tally.tickets + excluded.tickets;
    ELSE
        INSERT INTO ticket_queue_tallies AS tally (queue, owner_id, tickets)
        SELECT change.queue, change.owner_id, sum(change.tickets)
          FROM (SELECT key.queue, key.owner_id, 1 AS tickets
                  FROM new_tickets AS t,
                       ticket_queue_keys(t.status, t.assignee_id, t.group_id, t.sla_state) AS key
                UNION ALL
                SELECT key.queue, key.owner_id, -1
                  FROM old_tickets AS t,
                       ticket_queue_keys(t.status, t.assignee_id, t.group_id, t.sla_state) AS key
               ) AS change
         GROUP BY change.queue, change.owner_id
        HAVING sum(change.tickets) <> 0
         ORDER BY change.queue, change.owner_id
            ON CONFLICT (queue, owner_id) DO UPDATE SET tickets = tally.tickets + excluded.tickets;
    END IF;
    RETURN NULL;
END
$$
"""

TRIGGERS = {
    "ticket_queue_tallies_insert": "AFTER INSERT ON tickets REFERENCING NEW TABLE AS new_tickets",
    "ticket_queue_tallies_update": (
        "AFTER UPDATE ON tickets REFERENCING OLD TABLE AS old_tickets NEW TABLE AS new_tickets"
    ),
    "ticket_queue_tallies_delete": "AFTER DELETE ON tickets REFERENCING OLD TABLE AS old_tickets",
    "ticket_queue_tallies_truncate": "AFTER TRUNCATE ON tickets",
}

FIRST_FILL = """
INSERT INTO ticket_queue_tallies (queue, owner_id, tickets)
SELECT key.queue, key.owner_id, count(*)
  FROM tickets AS t, ticket_queue_keys(t.status, t.assignee_id, t.group_id, t.sla_state) AS key
 GROUP BY key.queue, key.owner_id
"""


def upgrade() -> None:
    op.create_table(
        "ticket_queue_tallies",
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "queue", "owner_id", name="uq_ticket_queue_tallies_queue_owner_id",
            postgresql_nulls_not_distinct=True,
        ),
    )  # fmt: skip
    op.execute(QUEUE_KEYS)
    op.execute(FOLLOW_TICKETS)
    # The triggers exist before the first fill, in this transaction: CREATE TRIGGER locks the
    # table against writes until the commit, so no ticket written meanwhile is missed or
    # counted twice.
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT "
            "EXECUTE FUNCTION ticket_queue_tallies_follow()"
        )
    op.execute(FIRST_FILL)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON tickets")
    op.execute("DROP FUNCTION ticket_queue_tallies_follow()")
    op.execute("DROP FUNCTION ticket_queue_keys(text, uuid, uuid, text)")
    op.drop_table("ticket_queue_tallies")
