"""Mail-to-ticket: IMAP mailboxes, inbound messages (unique Message-ID), the blocklist, addresses
that bounce, the last automatic answer per sender, groups' acknowledgement settings; outbound
mail names the ticket message it is about.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:30:33.637067
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_acknowledgements",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_key", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_mail_acknowledgements")),
    )
    op.create_table(
        "mail_blocklist",
        sa.Column("pattern", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("pattern", name=op.f("pk_mail_blocklist")),
    )
    op.create_table(
        "undeliverable_addresses",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column(
            "bounced_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["email_outbox.id"],
            name=op.f("fk_undeliverable_addresses_outbox_id_email_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_undeliverable_addresses")),
    )
    op.create_table(
        "group_mail_settings",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("acknowledge", sa.Boolean(), nullable=False),
        sa.Column("acknowledgement_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["support_groups.id"],
            name=op.f("fk_group_mail_settings_group_id_support_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_mail_settings")),
    )
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("tls_mode", sa.String(length=10), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("unknown_sender_policy", sa.String(length=10), nullable=False),
        sa.Column("processed_action", sa.String(length=10), nullable=False),
        sa.Column("processed_folder", sa.String(length=200), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "processed_action IN ('flag', 'move')", name=op.f("ck_mailboxes_processed_action_known")
        ),
        sa.CheckConstraint(
            "tls_mode IN ('none', 'starttls', 'tls')", name=op.f("ck_mailboxes_tls_mode_known")
        ),
        sa.CheckConstraint(
            "unknown_sender_policy IN ('queue', 'reject')",
            name=op.f("ck_mailboxes_unknown_sender_policy_known"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["support_groups.id"],
            name=op.f("fk_mailboxes_group_id_support_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("name", name=op.f("uq_mailboxes_name")),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("kind_reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("full_text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "refused_files",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('normal', 'auto_reply', 'bounce', 'spam')",
            name=op.f("ck_inbound_messages_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('ticket', 'reply', 'held', 'quarantined', 'bounce', 'rejected', "
            "'ignored', 'accepted', 'attached', 'discarded')",
            name=op.f("ck_inbound_messages_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_inbound_messages_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_inbound_messages_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_inbound_messages_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_messages_mailbox_id_mailboxes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_messages_message_id")),
    )
    op.create_index(
        "ix_inbound_messages_status", "inbound_messages", ["status", "received_at"], unique=False
    )
    op.create_index("ix_inbound_messages_ticket", "inbound_messages", ["ticket_id"], unique=False)
    op.create_index(
        "ix_inbound_messages_unapplied",
        "inbound_messages",
        ["mailbox_id"],
        unique=False,
        postgresql_where=sa.text("applied_at IS NULL"),
    )
    op.add_column(
        "email_outbox",
        sa.Column("related_id", sa.String(length=100), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("email_outbox", "related_id")
    op.drop_index(
        "ix_inbound_messages_unapplied",
        table_name="inbound_messages",
        postgresql_where=sa.text("applied_at IS NULL"),
    )
    op.drop_index("ix_inbound_messages_ticket", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_status", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_table("mailboxes")
    op.drop_table("group_mail_settings")
    op.drop_table("undeliverable_addresses")
    op.drop_table("mail_blocklist")
    op.drop_table("mail_acknowledgements")
