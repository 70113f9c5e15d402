"""Read queries over customers: the back-office list (search, filters, sorts, pages, CSV), one
customer's tickets, notes, documents and timeline, and the KYC queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AuditEvent,
    Customer,
    CustomerDocument,
    CustomerKind,
    CustomerNote,
    CustomerStatus,
    Ticket,
    User,
)
from db.queries.paging import DEFAULT_PER_PAGE, Page, total_of
from db.queries.users import like_pattern

SORTS = {
    "name": lambda: func.lower(Customer.name),
    "status": lambda: Customer.status,
    "segment": lambda: Customer.segment,
    "kyc": lambda: Customer.kyc_state,
    "created": lambda: Customer.created_at,
}
DEFAULT_SORT = "created"
DESCENDING_FIRST = frozenset({"created"})
STREAM_BATCH = 500
OPEN_TICKET_STATUSES = ("open", "in_progress", "answered", "waiting_on_customer", "on_hold")


@dataclass(frozen=True)
class CustomerFilters:
    search: str = ""
    # One company only: what a customer's own token may list.
    customer_id: uuid.UUID | None = None
    status: CustomerStatus | None = None
    segment: str = ""
    kyc_state: str = ""
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    sort: str = DEFAULT_SORT
    descending: bool = True


@dataclass(frozen=True)
class CustomerRow:
    id: uuid.UUID
    name: str
    kind: CustomerKind
    status: CustomerStatus
    segment: str | None
    kyc_state: str
    nif: str | None
    rc: str | None
    national_id: str | None
    email: str
    users: int
    created_at: datetime


def _user_count():
    return (
        select(func.count())
        .where(User.customer_id == Customer.id)
        .correlate(Customer)
        .scalar_subquery()
    )


def _filtered(filters: CustomerFilters) -> Select:
    statement = select(
        Customer.id, Customer.name, Customer.kind, Customer.status, Customer.segment,
        Customer.kyc_state, Customer.nif, Customer.rc, Customer.national_id, Customer.email,
        _user_count().label("users"), Customer.created_at,
    )  # fmt: skip
    text = filters.search.strip()
    if text:
        pattern = like_pattern(text)
        # Identifiers are stored without separators: "0000 1600 …" finds its NIF too.
        compact = like_pattern("".join(text.split()).upper())
        statement = statement.where(
            or_(
                *(column.ilike(pattern, escape="\\")
                  for column in (Customer.name, Customer.legal_name, Customer.trade_name,
                                 Customer.email)),
                *(column.like(compact, escape="\\")
                  for column in (Customer.nif, Customer.nis, Customer.rc,
                                 Customer.article_imposition, Customer.national_id)),
                exists().where(User.customer_id == Customer.id,
                               User.email.ilike(pattern, escape="\\")),
            )
        )  # fmt: skip
    if filters.customer_id is not None:
        statement = statement.where(Customer.id == filters.customer_id)
    if filters.status is not None:
        statement = statement.where(Customer.status == filters.status)
    if filters.segment:
        statement = statement.where(Customer.segment == filters.segment)
    if filters.kyc_state:
        statement = statement.where(Customer.kyc_state == filters.kyc_state)
    if filters.created_from is not None:
        statement = statement.where(Customer.created_at >= filters.created_from)
    if filters.created_to is not None:
        statement = statement.where(Customer.created_at < filters.created_to)
    return statement


def _ordered(statement: Select, filters: CustomerFilters) -> Select:
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])()
    order = order.desc().nulls_last() if filters.descending else order.asc().nulls_last()
    return statement.order_by(order, Customer.id)


async def list_customers(
    db: AsyncSession, filters: CustomerFilters, page: int, per_page: int = DEFAULT_PER_PAGE
) -> Page[CustomerRow]:
    statement = _filtered(filters)
    total = await total_of(db, statement)
    page = min(page, max(1, -(-total // per_page)))
    rows = await db.execute(
        _ordered(statement, filters).limit(per_page).offset((page - 1) * per_page)
    )
    return Page([CustomerRow(**row._mapping) for row in rows], total, page, per_page)


async def stream_customers(
    db: AsyncSession, filters: CustomerFilters
) -> AsyncIterator[CustomerRow]:
    result = await db.stream(
        _ordered(_filtered(filters), filters).execution_options(yield_per=STREAM_BATCH)
    )
    async for row in result:
        yield CustomerRow(**row._mapping)


async def segments(db: AsyncSession) -> list[str]:
    rows = await db.scalars(
        select(Customer.segment)
        .where(Customer.segment.is_not(None))
        .distinct()
        .order_by(Customer.segment)
    )
    return list(rows)


async def customer_tickets(
    db: AsyncSession, customer_id: uuid.UUID, *, open_only: bool = False, limit: int = 50
) -> list[Ticket]:
    statement = select(Ticket).where(Ticket.customer_id == customer_id)
    if open_only:
        statement = statement.where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    return list(await db.scalars(statement.order_by(Ticket.updated_at.desc()).limit(limit)))


async def customer_notes(db: AsyncSession, customer_id: uuid.UUID) -> list[CustomerNote]:
    rows = await db.scalars(
        select(CustomerNote)
        .where(CustomerNote.customer_id == customer_id)
        .order_by(CustomerNote.created_at.desc())
    )
    return list(rows)


async def customer_documents(
    db: AsyncSession, customer_id: uuid.UUID, *, include_deleted: bool = True
) -> list[CustomerDocument]:
    statement = select(CustomerDocument).where(CustomerDocument.customer_id == customer_id)
    if not include_deleted:
        statement = statement.where(CustomerDocument.deleted_at.is_(None))
    return list(await db.scalars(statement.order_by(CustomerDocument.uploaded_at.desc())))


def _timeline(customer_id: uuid.UUID) -> Select:
    """Changes to the customer itself and to its users (sign-ins aside: the security tab)."""
    users = select(func.cast(User.id, AuditEvent.target_id.type)).where(
        User.customer_id == customer_id
    )
    return select(AuditEvent).where(
        or_(
            and_(AuditEvent.target_type == "customer", AuditEvent.target_id == str(customer_id)),
            and_(
                AuditEvent.target_type == "user",
                AuditEvent.target_id.in_(users),
                AuditEvent.action.not_like("auth.%"),
            ),
        )
    )


async def customer_timeline(
    db: AsyncSession, customer_id: uuid.UUID, page: int, per_page: int = 50
) -> Page[AuditEvent]:
    statement = _timeline(customer_id)
    total = await total_of(db, statement)
    page = min(page, max(1, -(-total // per_page)))
    rows = await db.scalars(
        statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(rows), total, page, per_page)


@dataclass(frozen=True)
class QueueRow:
    id: uuid.UUID
    name: str
    kind: CustomerKind
    kyc_round: int
    submitted_at: datetime
    documents: int


async def kyc_queue(db: AsyncSession) -> list[QueueRow]:
    """Files waiting for a reviewer, the longest-waiting first."""
    waiting = (
        select(func.count())
        .where(
            CustomerDocument.customer_id == Customer.id,
            CustomerDocument.review_status == "submitted",
        )
        .correlate(Customer)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(
            Customer.id,
            Customer.name,
            Customer.kind,
            Customer.kyc_round,
            Customer.kyc_submitted_at.label("submitted_at"),
            waiting.label("documents"),
        )
        .where(Customer.kyc_state == "in_review")
        .order_by(Customer.kyc_submitted_at.asc(), Customer.id)
    )
    return [QueueRow(**row._mapping) for row in rows]


async def kyc_queue_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).where(Customer.kyc_state == "in_review")) or 0)
