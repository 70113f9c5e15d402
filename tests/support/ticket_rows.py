"""Tickets for the queue and list tests, written straight into the projection (as the activities
would), with the search vector the activities keep: French and English stems of the subject."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import cast, func
from sqlalchemy.dialects.postgresql import REGCONFIG

from db.models import (
    Customer,
    CustomerKind,
    CustomerStatus,
    SupportGroup,
    SupportGroupMember,
    Ticket,
    TicketCategory,
    User,
    UserKind,
)


def search_vector(text: str):
    return func.to_tsvector(cast("french", REGCONFIG), text).op("||")(
        func.to_tsvector(cast("english", REGCONFIG), text)
    )


async def make_customer(sessionmaker, name: str | None = None) -> Customer:
    async with sessionmaker() as db, db.begin():
        customer = Customer(
            kind=CustomerKind.COMPANY,
            name=name or f"Client {uuid.uuid4().hex[:8]} SARL",
            status=CustomerStatus.ACTIVE,
        )
        db.add(customer)
    return customer


async def make_staff(sessionmaker, name: str | None = None) -> User:
    """A staff member who never signs in: an assignee or a queue's viewer."""
    async with sessionmaker() as db, db.begin():
        user = User(
            email=f"agent-{uuid.uuid4().hex[:10]}@example.dz",
            full_name=name or f"Agent {uuid.uuid4().hex[:6]}",
            kind=UserKind.STAFF,
            locale="en",
        )
        db.add(user)
    return user


async def make_group(sessionmaker, *members: uuid.UUID, name: str | None = None) -> SupportGroup:
    async with sessionmaker() as db, db.begin():
        group = SupportGroup(name=name or f"Group {uuid.uuid4().hex[:10]}")
        db.add(group)
        await db.flush()
        for member in members:
            db.add(SupportGroupMember(group_id=group.id, user_id=member))
    return group


async def make_category(
    sessionmaker, name: str | None = None, parent: TicketCategory | None = None
) -> TicketCategory:
    async with sessionmaker() as db, db.begin():
        category = TicketCategory(
            name=name or f"Category {uuid.uuid4().hex[:6]}",
            parent_id=parent.id if parent else None,
        )
        db.add(category)
    return category


async def make_ticket(
    sessionmaker,
    customer: Customer,
    subject: str = "Question",
    *,
    number: str | None = None,
    priority: str = "medium",
    status: str = "open",
    sla_state: str = "ok",
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    **values,
) -> Ticket:
    """One ticket of `customer`; any other column (assignee_id, tags, *_due…) as a keyword."""
    ticket_id = uuid.uuid4()
    stamps = {"created_at": created_at, "updated_at": updated_at or created_at}
    async with sessionmaker() as db, db.begin():
        ticket = Ticket(
            id=ticket_id,
            number=number or f"TCK-T-{ticket_id.hex[:16]}",
            subject=subject,
            customer_id=customer.id,
            channel="portal",
            priority=priority,
            status=status,
            sla_state=sla_state,
            search_vector=search_vector(subject),
            **{key: value for key, value in stamps.items() if value is not None},
            **values,
        )
        db.add(ticket)
    return ticket
