"""The queues' partial indexes of open tickets: an agent's, a group's, and the SLA queues (the
last replaces ix_tickets_sla_queue, which also held closed tickets that had been at risk).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status NOT IN ('resolved', 'closed')"


def upgrade() -> None:
    op.create_index(
        "ix_tickets_open_assignee", "tickets", ["assignee_id", "updated_at"],
        postgresql_where=sa.text(OPEN),
    )  # fmt: skip
    op.create_index(
        "ix_tickets_open_group", "tickets", ["group_id", "updated_at"],
        postgresql_where=sa.text(OPEN),
    )  # fmt: skip
    op.create_index(
        "ix_tickets_open_sla", "tickets", ["sla_state", "updated_at"],
        postgresql_where=sa.text(f"sla_state <> 'ok' AND {OPEN}"),
    )  # fmt: skip
    op.drop_index(
        "ix_tickets_sla_queue", table_name="tickets", postgresql_where=sa.text("sla_state <> 'ok'")
    )


def downgrade() -> None:
    op.create_index(
        "ix_tickets_sla_queue", "tickets", ["sla_state", "updated_at"],
        postgresql_where=sa.text("sla_state <> 'ok'"),
    )  # fmt: skip
    op.drop_index("ix_tickets_open_sla", table_name="tickets")
    op.drop_index("ix_tickets_open_group", table_name="tickets")
    op.drop_index("ix_tickets_open_assignee", table_name="tickets")
