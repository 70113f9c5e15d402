"""Customers and KYC: legal identity and Algerian identifiers (unique), contact details,
preferred language, status reason, the KYC file's projection (state, round, dates), addresses,
documents (KYC and others, bytes removable while the row stays) and staff notes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:25:54.396136
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), server_default="", nullable=False),
        sa.Column("postal_code", sa.String(length=10), server_default="", nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), server_default="", nullable=False),
        sa.Column("country", sa.String(length=2), server_default="DZ", nullable=False),
        sa.CheckConstraint(
            "kind IN ('billing', 'technical')", name=op.f("ck_customer_addresses_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
        sa.UniqueConstraint(
            "customer_id", "kind", name=op.f("uq_customer_addresses_customer_id_kind")
        ),
    )
    op.create_table(
        "customer_documents",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("requirement", sa.String(length=40), server_default="", nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "uploaded_by_staff", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("review_status", sa.String(length=12), nullable=True),
        sa.Column("kyc_round", sa.Integer(), nullable=True),
        sa.Column("review_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "review_status IN ('uploaded', 'submitted', 'approved', 'rejected')",
            name=op.f("ck_customer_documents_review_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_documents_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_customer_documents_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_customer_documents_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_documents")),
    )
    op.create_index(
        "ix_customer_documents_customer",
        "customer_documents",
        ["customer_id", "uploaded_at"],
        unique=False,
    )
    op.create_index("ix_customer_documents_sha256", "customer_documents", ["sha256"], unique=False)
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentioned_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_customer_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_notes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notes")),
    )
    op.create_index(
        "ix_customer_notes_customer", "customer_notes", ["customer_id", "created_at"], unique=False
    )
    op.add_column(
        "customers",
        sa.Column("legal_name", sa.String(length=200), server_default="", nullable=False),
    )
    op.add_column(
        "customers",
        sa.Column("trade_name", sa.String(length=200), server_default="", nullable=False),
    )
    op.add_column(
        "customers",
        sa.Column("legal_form", sa.String(length=40), server_default="", nullable=False),
    )
    op.add_column("customers", sa.Column("nif", sa.String(length=20), nullable=True))
    op.add_column("customers", sa.Column("nis", sa.String(length=15), nullable=True))
    op.add_column("customers", sa.Column("rc", sa.String(length=20), nullable=True))
    op.add_column("customers", sa.Column("article_imposition", sa.String(length=11), nullable=True))
    op.add_column("customers", sa.Column("national_id", sa.String(length=18), nullable=True))
    op.add_column(
        "customers", sa.Column("email", sa.String(length=320), server_default="", nullable=False)
    )
    op.add_column(
        "customers", sa.Column("phone", sa.String(length=20), server_default="", nullable=False)
    )
    op.add_column(
        "customers", sa.Column("mobile", sa.String(length=20), server_default="", nullable=False)
    )
    op.add_column(
        "customers",
        sa.Column("preferred_language", sa.String(length=10), server_default="fr", nullable=False),
    )
    op.add_column(
        "customers", sa.Column("status_reason", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "customers", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "customers",
        sa.Column("kyc_state", sa.String(length=20), server_default="not_started", nullable=False),
    )
    op.add_column(
        "customers", sa.Column("kyc_round", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "customers", sa.Column("kyc_submitted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "customers", sa.Column("kyc_decided_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "customers", sa.Column("kyc_seq", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "customers", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "customers",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_index("ix_customers_created_at", "customers", ["created_at"], unique=False)
    op.create_index(
        "ix_customers_kyc_queue",
        "customers",
        ["kyc_submitted_at"],
        unique=False,
        postgresql_where=sa.text("kyc_state = 'in_review'"),
    )
    op.create_index("ix_customers_status", "customers", ["status"], unique=False)
    op.create_unique_constraint(
        op.f("uq_customers_article_imposition"), "customers", ["article_imposition"]
    )
    op.create_unique_constraint(op.f("uq_customers_national_id"), "customers", ["national_id"])
    op.create_unique_constraint(op.f("uq_customers_nif"), "customers", ["nif"])
    op.create_unique_constraint(op.f("uq_customers_nis"), "customers", ["nis"])
    op.create_unique_constraint(op.f("uq_customers_rc"), "customers", ["rc"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_customers_rc"), "customers", type_="unique")
    op.drop_constraint(op.f("uq_customers_nis"), "customers", type_="unique")
    op.drop_constraint(op.f("uq_customers_nif"), "customers", type_="unique")
    op.drop_constraint(op.f("uq_customers_national_id"), "customers", type_="unique")
    op.drop_constraint(op.f("uq_customers_article_imposition"), "customers", type_="unique")
    op.drop_index("ix_customers_status", table_name="customers")
    op.drop_index(
        "ix_customers_kyc_queue",
        table_name="customers",
        postgresql_where=sa.text("kyc_state = 'in_review'"),
    )
    op.drop_index("ix_customers_created_at", table_name="customers")
    op.drop_column("customers", "updated_at")
    op.drop_column("customers", "anonymised_at")
    op.drop_column("customers", "kyc_seq")
    op.drop_column("customers", "kyc_decided_at")
    op.drop_column("customers", "kyc_submitted_at")
    op.drop_column("customers", "kyc_round")
    op.drop_column("customers", "kyc_state")
    op.drop_column("customers", "status_changed_at")
    op.drop_column("customers", "status_reason")
    op.drop_column("customers", "preferred_language")
    op.drop_column("customers", "mobile")
    op.drop_column("customers", "phone")
    op.drop_column("customers", "email")
    op.drop_column("customers", "national_id")
    op.drop_column("customers", "article_imposition")
    op.drop_column("customers", "rc")
    op.drop_column("customers", "nis")
    op.drop_column("customers", "nif")
    op.drop_column("customers", "legal_form")
    op.drop_column("customers", "trade_name")
    op.drop_column("customers", "legal_name")
    op.drop_index("ix_customer_notes_customer", table_name="customer_notes")
    op.drop_table("customer_notes")
    op.drop_index("ix_customer_documents_sha256", table_name="customer_documents")
    op.drop_index("ix_customer_documents_customer", table_name="customer_documents")
    op.drop_table("customer_documents")
    op.drop_table("customer_addresses")
