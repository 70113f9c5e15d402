"""Helpdesk records: tickets and their messages, attachments and timeline, plus the support
configuration that decides who works a ticket and under which SLA.

A ticket's process state lives in its `TicketWorkflow`; the `tickets` row is the projection that
lists, queues, search and reports read. Only activities write it, each write carrying the
workflow's `projection_seq` so a retried (older) write can never overwrite a newer one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at, uuid_pk

# The vocabularies are owned by `workflows.ticket_rules` (the workflow decides); the database only
# refuses what is not in them.
PRIORITIES = ("low", "medium", "high", "urgent")
STATUSES = (
    "open",
    "in_progress",
    "answered",
    "waiting_on_customer",
    "on_hold",
    "resolved",
    "closed",
)
CHANNELS = ("portal", "staff", "api", "email")
ASSIGNMENT_MODES = ("manual", "round_robin", "least_open")
SLA_STATES = ("ok", "at_risk", "breached")
# The statuses the open queues leave out, and the predicate of the queues' partial indexes; the
# queries (db.queries.tickets) write the same literals, so the planner matches the indexes.
CLOSED_STATUSES = ("resolved", "closed")
OPEN = f"status NOT IN ({', '.join(repr(status) for status in CLOSED_STATUSES)})"


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


def _when() -> Mapped[datetime | None]:
    return mapped_column(DateTime(timezone=True))


class SupportGroup(Base):
    """A team that works tickets: members, a lead who hears about escalations, how new tickets
    are assigned, and the group's automation periods."""

    __tablename__ = "support_groups"
    __table_args__ = (_one_of("assignment_mode", ASSIGNMENT_MODES),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignment_mode: Mapped[str] = mapped_column(String(20), default="round_robin")
    # Round-robin remembers whom it gave the last ticket to; the next one goes to the member after.
    last_assigned_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Auto-close: resolved tickets close after N days without a customer reply; tickets waiting
    # on the customer get a reminder after M days and close after N.
    close_resolved_after_days: Mapped[int] = mapped_column(Integer, default=7)
    remind_waiting_after_days: Mapped[int] = mapped_column(Integer, default=3)
    close_waiting_after_days: Mapped[int] = mapped_column(Integer, default=10)
    # A closed ticket can be reopened within this many days; after that a customer reply opens a
    # new ticket linked to it.
    reopen_window_days: Mapped[int] = mapped_column(Integer, default=14)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at()


class SupportGroupMember(Base):
    __tablename__ = "support_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("support_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TicketCategory(Base):
    """Hierarchical categories; a category may route its tickets to a support group (the
    assignment rule by category) and may be matched by SLA policies."""

    __tablename__ = "ticket_categories"

    id: Mapped[uuid.UUID] = uuid_pk()
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket_categories.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(120))
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("support_groups.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class BusinessCalendar(Base):
    """When SLA clocks run: `working_days` are `date.weekday()` numbers (Monday 0 … Sunday 6),
    `hours` a list of ["HH:MM", "HH:MM"] local intervals."""

    __tablename__ = "business_calendars"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    time_zone: Mapped[str] = mapped_column(String(60), default="Africa/Algiers")
    working_days: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    hours: Mapped[list[list[str]]] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class CalendarHoliday(Base):
    __tablename__ = "calendar_holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    calendar_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))
    # Islamic holidays come from the `holidays` package as estimates; admins confirm or move them.
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)


class SlaPolicy(Base):
    """Targets in business minutes. Policies are tried by `position`; the first whose conditions
    all hold applies (an empty condition matches anything)."""

    __tablename__ = "sla_policies"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    match_priorities: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), server_default=text("'{}'")
    )
    match_category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket_categories.id", ondelete="CASCADE")
    )
    match_segment: Mapped[str | None] = mapped_column(String(40))
    calendar_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="RESTRICT")
    )
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warning_minutes: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SlaEscalationLevel(Base):
    """What happens when a ticket under the policy breaches: each level fires `after_minutes`
    (wall clock) after the breach, if the breach still stands (level 1 usually at 0)."""

    __tablename__ = "sla_escalation_levels"
    __table_args__ = (UniqueConstraint("policy_id", "level"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    policy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    notify_lead: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_admins: Mapped[bool] = mapped_column(Boolean, default=False)
    raise_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    reassign_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("support_groups.id", ondelete="SET NULL")
    )


class TicketNumberCounter(Base):
    """Gapless human numbers per year: the row is locked and bumped in the transaction that
    inserts the ticket, so a number exists only if its ticket does."""

    __tablename__ = "ticket_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        _one_of("priority", PRIORITIES),
        _one_of("status", STATUSES),
        _one_of("channel", CHANNELS),
        _one_of("sla_state", SLA_STATES),
        # The queues hold open tickets only, newest change first: each has a partial index of
        # open tickets in that order, so a page is read from the index and a filtered count
        # scans the index only (an unfiltered one reads ticket_queue_tallies), however many
        # closed tickets the years leave (bench.tickets (4): from
        # ~330 ms to ~4 ms of SQL for "mine" at a million tickets). The queries write
        # `OPEN` with literals so the planner matches it.
        Index("ix_tickets_open_assignee", "assignee_id", "updated_at", postgresql_where=text(OPEN)),
        Index("ix_tickets_open_group", "group_id", "updated_at", postgresql_where=text(OPEN)),
        Index(
            "ix_tickets_unassigned",
            "updated_at",
            postgresql_where=text(f"assignee_id IS NULL AND {OPEN}"),
        ),
        Index(
            "ix_tickets_open_sla",
            "sla_state",
            "updated_at",
            postgresql_where=text(f"sla_state <> 'ok' AND {OPEN}"),
        ),
        # Any status: an agent's or a group's tickets in the "all" list, and workload counts.
        Index("ix_tickets_assignee_queue", "assignee_id", "status", "updated_at"),
        Index("ix_tickets_group_queue", "group_id", "status", "updated_at"),
        Index("ix_tickets_customer", "customer_id", "created_at"),
        Index("ix_tickets_updated_at", "updated_at"),
        Index("ix_tickets_status", "status", "updated_at"),
        Index("ix_tickets_search", "search_vector", postgresql_using="gin"),
        Index("ix_tickets_tags", "tags", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the workflow's uuid
    number: Mapped[str] = mapped_column(String(24), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    requester_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket_categories.id", ondelete="SET NULL")
    )
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24))
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("support_groups.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    # A link to an order or an invoice (those modules come later): kind and human reference.
    linked_kind: Mapped[str | None] = mapped_column(String(20))
    linked_reference: Mapped[str | None] = mapped_column(String(40))
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    sla_state: Mapped[str] = mapped_column(String(10), default="ok")
    first_response_due: Mapped[datetime | None] = _when()
    next_response_due: Mapped[datetime | None] = _when()
    resolution_due: Mapped[datetime | None] = _when()
    sla_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    first_responded_at: Mapped[datetime | None] = _when()
    last_customer_message_at: Mapped[datetime | None] = _when()
    last_agent_message_at: Mapped[datetime | None] = _when()
    resolved_at: Mapped[datetime | None] = _when()
    closed_at: Mapped[datetime | None] = _when()
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
    follow_up_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # French and English stems of the subject and every public message, kept by the activities.
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR)
    # The workflow's change counter at the last projection write (see the module docstring).
    projection_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = created_at()
    created_at: Mapped[datetime] = created_at()


# How many tickets each queue holds: rows (queue, owner_id, tickets) kept by statement triggers
# on `tickets` (migration 0009) in the transactions that write them, so the sidebar's counts and
# a queue's total are a few rows read, not index entries counted. `queue` is 'all' (every
# ticket) or, for open tickets only, 'assignee' (owner_id: the agent), 'unassigned', 'group'
# (owner_id: the group), 'at_risk' or 'breached'. A Core table: nothing loads it as an object.
ticket_queue_tallies = Table(
    "ticket_queue_tallies",
    Base.metadata,
    Column("queue", String(20), nullable=False),
    Column("owner_id", Uuid(), nullable=True),
    Column("tickets", Integer(), nullable=False),
    UniqueConstraint("queue", "owner_id", postgresql_nulls_not_distinct=True),
)


class TicketMessage(Base):
    """A reply (customer or agent) or an internal note; ids are decided by the workflow, so a
    retried write inserts nothing twice."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        Index("ix_ticket_messages_ticket", "ticket_id", "created_at"),
        CheckConstraint("author_kind IN ('customer', 'agent', 'system')", name="author_kind_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    author_kind: Mapped[str] = mapped_column(String(10))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TicketAttachment(Base):
    """A file on a message. The bytes live once under `uploads/<sha256>` (content-addressed,
    outside the web root); this row is what permission checks and downloads go through."""

    __tablename__ = "ticket_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)


class TicketEvent(Base):
    """One line of the ticket's timeline: who or which rule/timer did what, with the data that
    explains it. The id is the workflow's idempotency key for the change."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TicketWatcher(Base):
    __tablename__ = "ticket_watchers"

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TicketPresence(Base):
    """Who has a ticket open right now, and whether they are typing a reply: the collision
    warning. Rows older than a minute are stale and ignored."""

    __tablename__ = "ticket_presence"
    __table_args__ = (
        CheckConstraint("activity IN ('viewing', 'replying')", name="activity_known"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    activity: Mapped[str] = mapped_column(String(10))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CannedReply(Base):
    """A reusable answer; `body` is a sandboxed Jinja template over `customer`, `ticket` and
    `agent`."""

    __tablename__ = "canned_replies"

    id: Mapped[uuid.UUID] = uuid_pk()
    category: Mapped[str] = mapped_column(String(80), default="")
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at()
