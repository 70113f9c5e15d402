"""The outbox as a queue: rows other transactions queue for the email relay carry when they are
next due (`next_attempt_at`), and every row keeps the headers and the auto-submitted mark it is
sent with, so whoever sends it builds the same message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "next_attempt_at IS NOT NULL AND status IN ('pending', 'deferred', 'sending')"


def upgrade() -> None:
    op.add_column(
        "email_outbox",
        sa.Column("headers", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.add_column(
        "email_outbox",
        sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "email_outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_email_outbox_relay_due", "email_outbox", ["next_attempt_at"],
        postgresql_where=sa.text(DUE),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_email_outbox_relay_due", table_name="email_outbox")
    op.drop_column("email_outbox", "next_attempt_at")
    op.drop_column("email_outbox", "automatic")
    op.drop_column("email_outbox", "headers")
