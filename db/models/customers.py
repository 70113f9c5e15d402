"""Customers: the company or individual, its addresses, the documents attached to it (KYC and
others) and the staff's internal notes about it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at, named_enum, uuid_pk


class CustomerKind(enum.StrEnum):
    COMPANY = "company"
    INDIVIDUAL = "individual"


class CustomerStatus(enum.StrEnum):
    PROSPECT = "prospect"
    PENDING_VALIDATION = "pending_validation"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


# Where the customer's KYC file stands (the KycWorkflow's state, projected for lists).
KYC_STATES = ("not_started", "collecting", "in_review", "rejected", "approved", "expired", "closed")
ADDRESS_KINDS = ("billing", "technical")
# A KYC document's review; NULL for documents staff attach outside KYC.
REVIEW_STATUSES = ("uploaded", "submitted", "approved", "rejected")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


def _when() -> Mapped[datetime | None]:
    return mapped_column(DateTime(timezone=True))


class Customer(Base):
    """A customer account: a company, or an individual, with one or more users.

    `name` is what lists show (the trade name, else the legal name). Algerian identifiers are
    stored normalised (digits, RC upper-case without spaces; see api/customer_identifiers.py)
    and unique when present."""

    __tablename__ = "customers"
    __table_args__ = (
        _one_of("kyc_state", KYC_STATES),
        Index("ix_customers_created_at", "created_at"),
        Index("ix_customers_status", "status"),
        # The KYC queue: files in review, oldest submission first.
        Index(
            "ix_customers_kyc_queue",
            "kyc_submitted_at",
            postgresql_where=text("kyc_state = 'in_review'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[CustomerKind] = mapped_column(named_enum(CustomerKind, "customer_kind"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CustomerStatus] = mapped_column(
        named_enum(CustomerStatus, "customer_status"), default=CustomerStatus.PROSPECT
    )
    # The customer's plan or segment ("standard", "premium"…): SLA rules and, later, prices.
    segment: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_at()

    legal_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    trade_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    legal_form: Mapped[str] = mapped_column(String(40), default="", server_default="")
    nif: Mapped[str | None] = mapped_column(String(20), unique=True)
    nis: Mapped[str | None] = mapped_column(String(15), unique=True)
    rc: Mapped[str | None] = mapped_column(String(20), unique=True)
    article_imposition: Mapped[str | None] = mapped_column(String(11), unique=True)
    national_id: Mapped[str | None] = mapped_column(String(18), unique=True)
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    mobile: Mapped[str] = mapped_column(String(20), default="", server_default="")
    preferred_language: Mapped[str] = mapped_column(String(10), default="fr", server_default="fr")

    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    status_changed_at: Mapped[datetime | None] = _when()

    kyc_state: Mapped[str] = mapped_column(
        String(20), default="not_started", server_default="not_started"
    )
    kyc_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kyc_submitted_at: Mapped[datetime | None] = _when()
    kyc_decided_at: Mapped[datetime | None] = _when()
    # The KycWorkflow's change counter: a retried write never undoes a newer one.
    kyc_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    anonymised_at: Mapped[datetime | None] = _when()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CustomerAddress(Base):
    __tablename__ = "customer_addresses"
    __table_args__ = (UniqueConstraint("customer_id", "kind"), _one_of("kind", ADDRESS_KINDS))

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="", server_default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="", server_default="")  # wilaya
    country: Mapped[str] = mapped_column(String(2), default="DZ", server_default="DZ")


class CustomerDocument(Base):
    """A file attached to a customer: a KYC document (`requirement` says which one, the review
    columns say what the reviewer decided) or any other document staff keep on file.

    Deleting a document, or the retention timer of a KYC file, removes its bytes and keeps this
    row: what was received, when, and what was decided stays on record."""

    __tablename__ = "customer_documents"
    __table_args__ = (
        _one_of("review_status", REVIEW_STATUSES),
        Index("ix_customer_documents_customer", "customer_id", "uploaded_at"),
        Index("ix_customer_documents_sha256", "sha256"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    requirement: Mapped[str] = mapped_column(String(40), default="", server_default="")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    uploaded_by_staff: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    uploaded_at: Mapped[datetime] = created_at()
    review_status: Mapped[str | None] = mapped_column(String(12))
    kyc_round: Mapped[int | None] = mapped_column(Integer)
    review_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = _when()
    deleted_at: Mapped[datetime | None] = _when()
    file_removed_at: Mapped[datetime | None] = _when()


class CustomerNote(Base):
    """Staff only: never shown in the portal, never sent to the customer."""

    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_customer", "customer_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    mentioned_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    created_at: Mapped[datetime] = created_at()
