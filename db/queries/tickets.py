"""Read queries over the tickets projection for the back-office: the queues (mine, unassigned, my
groups, at risk, breached, all), filters, full-text and number search, sorts, pages, the same rows
streamed for a CSV export, and the sidebar's queue counts (read from the tallies the
triggers of migration 0009 keep).

Everything here reads the `tickets` table the activities keep, never Temporal. The queue
conditions are written so that PostgreSQL can use the partial indexes of `db.models.tickets`:
their predicates must be provable from the query text, hence literals rather than parameters
where a partial index is meant to apply.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Select,
    Uuid,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, array
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Customer,
    SupportGroup,
    SupportGroupMember,
    Ticket,
    TicketCategory,
    TicketNumberCounter,
    User,
    UserKind,
    UserStatus,
)
from db.models.tickets import (
    CLOSED_STATUSES,
    PRIORITIES,
    SLA_STATES,
    STATUSES,
    ticket_queue_tallies,
)
from db.queries.paging import DEFAULT_PER_PAGE, Page
from db.queries.users import like_pattern

QUEUES = ("mine", "unassigned", "my_groups", "at_risk", "breached", "all")
DEFAULT_QUEUE = "mine"
COUNTED_QUEUES = ("mine", "unassigned", "my_groups", "at_risk", "breached")  # in the sidebar
STREAM_BATCH = 500

# Human numbers look like TCK-2026-000123 (prefix, year, sequence padded to six digits).
NUMBER_PREFIX = "TCK"
NUMBER_DIGITS = 6
_FULL_NUMBER = re.compile(r"[A-Z]{2,5}-\d{4}-\d{1,9}")
_BARE_NUMBER = re.compile(r"\d{1,9}")

# Urgent first when the column is sorted the natural way (descending).
_PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}


def _priority_rank() -> ColumnElement[int]:
    return case(_PRIORITY_RANK, value=Ticket.priority, else_=-1)


def nearest_due() -> ColumnElement[datetime]:
    """The earliest SLA deadline still on the ticket (LEAST skips NULLs; NULL when none)."""
    return func.least(Ticket.first_response_due, Ticket.next_response_due, Ticket.resolution_due)


SORTS = {
    "updated": lambda: Ticket.updated_at,
    "created": lambda: Ticket.created_at,
    "priority": _priority_rank,
    "sla": nearest_due,
    "number": lambda: Ticket.number,
}
DEFAULT_SORT = "updated"  # the ticket that just moved is on top
DESCENDING_FIRST = frozenset({"updated", "created", "priority"})
# Sorts on columns that always have a value: no NULLS LAST, so that the order is exactly the
# queue indexes' (scanned backwards) and a page of a queue is read from the index, not sorted.
NEVER_NULL = frozenset({"updated", "created", "priority", "number"})


@dataclass(frozen=True)
class TicketFilters:
    queue: str = DEFAULT_QUEUE
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    category_id: uuid.UUID | None = None  # its sub-categories too
    group_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    tag: str = ""
    customer_id: uuid.UUID | None = None
    customer: str = ""  # part of the customer's name
    created_from: date | None = None  # a day in `time_zone`, inclusive
    created_to: date | None = None  # a day in `time_zone`, inclusive
    time_zone: str = "UTC"  # the viewer's: "created on the 15th" means the 15th where they are
    search: str = ""  # words (French and English stems) or a ticket number
    sort: str = DEFAULT_SORT
    descending: bool = True


@dataclass
class TicketRow:
    id: uuid.UUID
    number: str
    subject: str
    status: str
    priority: str
    tags: list[str]
    customer_id: uuid.UUID
    customer_name: str
    requester_name: str | None
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    group_name: str | None
    category_name: str | None
    sla_state: str
    sla_paused: bool
    sla_due: datetime | None  # the nearest deadline
    first_response_due: datetime | None
    resolution_due: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Choice:
    id: uuid.UUID
    name: str
    depth: int = 0  # categories: how deep in the tree


# -- conditions ----------------------------------------------------------------------------------

# The viewer in statements built once and run for anyone (`_page_statements`, `_QUEUE_COUNTS`).
_VIEWER = bindparam("viewer_id", type_=Uuid())


def _is_open() -> ColumnElement[bool]:
    closed = [literal_column(f"'{status}'") for status in CLOSED_STATUSES]
    return Ticket.status.not_in(closed)


def _sla_state_is(state: str) -> ColumnElement[bool]:
    # A literal: `sla_state = 'breached'` proves the partial index's `sla_state <> 'ok'`
    # (ix_tickets_open_sla).
    assert state in SLA_STATES
    return Ticket.sla_state == literal_column(f"'{state}'")


def _my_groups(viewer_id: uuid.UUID):
    return select(SupportGroupMember.group_id).where(SupportGroupMember.user_id == viewer_id)


def queue_condition(queue: str, viewer_id: uuid.UUID) -> ColumnElement[bool]:
    """Which tickets a queue holds. Every queue but "all" holds open tickets only."""
    if queue == "all":
        return true()
    if queue == "mine":
        mine = Ticket.assignee_id == viewer_id
    elif queue == "unassigned":
        mine = Ticket.assignee_id.is_(None)
    elif queue == "my_groups":
        mine = Ticket.group_id.in_(_my_groups(viewer_id))
    elif queue in ("at_risk", "breached"):
        mine = _sla_state_is(queue)
    else:
        raise ValueError(f"unknown queue: {queue}")
    return mine & _is_open()


def _category_tree(category_id: uuid.UUID):
    """The category and everything beneath it. UNION (not ALL) stops on a cycle."""
    tree = (
        select(TicketCategory.id)
        .where(TicketCategory.id == category_id)
        .cte("category_tree", recursive=True)
    )
    children = select(TicketCategory.id).join(tree, TicketCategory.parent_id == tree.c.id)
    tree = tree.union(children)
    return select(tree.c.id)


def _number_match(search: str) -> ColumnElement[bool] | None:
    """The ticket numbers a search may mean, or None when it cannot be a number.

    "TCK-2026-000123" means itself. A bare "123" means ticket 123 of any year that has numbers:
    the years come from the counters table through `= ANY(ARRAY(SELECT …))`, evaluated once, so
    the comparison stays an index lookup on the unique `number` (a `LIKE '%-000123'` would read
    the whole table)."""
    text = search.strip().upper()
    if _FULL_NUMBER.fullmatch(text):
        return Ticket.number == text
    if _BARE_NUMBER.fullmatch(text):
        sequence = f"{int(text):0{NUMBER_DIGITS}d}"
        candidates = select(
            literal(f"{NUMBER_PREFIX}-")
            + cast(TicketNumberCounter.year, Ticket.number.type)
            + literal(f"-{sequence}")
        )
        return Ticket.number == func.any(func.array(candidates.scalar_subquery()))
    return None


def _text_search(search: str) -> ColumnElement[bool]:
    words = search.strip()
    # Both languages' stems: a French customer and an English one write to the same desk.
    query = func.websearch_to_tsquery(cast("french", REGCONFIG), words).op("||")(
        func.websearch_to_tsquery(cast("english", REGCONFIG), words)
    )
    matches = Ticket.search_vector.bool_op("@@")(query)
    number = _number_match(words)
    return matches if number is None else or_(matches, number)


def _day_start(day: date, time_zone: str) -> datetime:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, time.min, zone)


def _conditions(viewer_id: uuid.UUID, filters: TicketFilters) -> list[ColumnElement[bool]]:
    conditions = [queue_condition(filters.queue, viewer_id)]
    if filters.statuses:
        conditions.append(Ticket.status.in_(filters.statuses))
    if filters.priorities:
        conditions.append(Ticket.priority.in_(filters.priorities))
    if filters.category_id is not None:
        conditions.append(Ticket.category_id.in_(_category_tree(filters.category_id)))
    if filters.group_id is not None:
        conditions.append(Ticket.group_id == filters.group_id)
    if filters.assignee_id is not None:
        conditions.append(Ticket.assignee_id == filters.assignee_id)
    if filters.tag.strip():
        # `@>` is what the GIN index on tags answers.
        conditions.append(Ticket.tags.bool_op("@>")(array([filters.tag.strip()])))
    if filters.customer_id is not None:
        conditions.append(Ticket.customer_id == filters.customer_id)
    if filters.customer.strip():
        pattern = like_pattern(filters.customer.strip())
        named = select(Customer.id).where(Customer.name.ilike(pattern, escape="\\"))
        conditions.append(Ticket.customer_id.in_(named))
    if filters.created_from is not None:
        conditions.append(Ticket.created_at >= _day_start(filters.created_from, filters.time_zone))
    if filters.created_to is not None:
        next_day = filters.created_to + timedelta(days=1)
        conditions.append(Ticket.created_at < _day_start(next_day, filters.time_zone))
    if filters.search.strip():
        conditions.append(_text_search(filters.search))
    return conditions


# -- rows ----------------------------------------------------------------------------------------


def _name(column, key) -> ColumnElement[str]:
    """The name `column` holds for the row whose id is `key`."""
    return select(column).where(column.table.c.id == key).scalar_subquery()


def _rows(viewer_id: uuid.UUID, filters: TicketFilters) -> Select:
    # The names are scalar subqueries rather than joins: PostgreSQL then plans the tickets
    # alone (a join of six tables took it 1.3 ms to plan, on every page, when the page itself
    # reads in 0.1 ms), and looks the names up for the page's rows only.
    return select(
        Ticket.id,
        Ticket.number,
        Ticket.subject,
        Ticket.status,
        Ticket.priority,
        Ticket.tags,
        Ticket.customer_id,
        _name(Customer.name, Ticket.customer_id).label("customer_name"),
        _name(User.full_name, Ticket.requester_id).label("requester_name"),
        Ticket.assignee_id,
        _name(User.full_name, Ticket.assignee_id).label("assignee_name"),
        _name(SupportGroup.name, Ticket.group_id).label("group_name"),
        _name(TicketCategory.name, Ticket.category_id).label("category_name"),
        Ticket.sla_state,
        Ticket.sla_paused,
        nearest_due().label("sla_due"),
        Ticket.first_response_due,
        Ticket.resolution_due,
        Ticket.created_at,
        Ticket.updated_at,
    ).where(*_conditions(viewer_id, filters))


def _count(viewer_id: uuid.UUID, filters: TicketFilters) -> Select:
    """How many tickets match. A queue without filters is the sum of its tally rows; with
    filters the tickets are counted, so that the count reads the queue's partial index."""
    conditions = _conditions(viewer_id, filters)
    if len(conditions) == 1:
        tallied = _tallied(filters.queue, viewer_id)
        return select(func.coalesce(func.sum(ticket_queue_tallies.c.tickets), 0)).where(tallied)
    return select(func.count()).select_from(Ticket).where(*conditions)


def _ordered(statement: Select, filters: TicketFilters) -> Select:
    sort = filters.sort if filters.sort in SORTS else DEFAULT_SORT
    key = SORTS[sort]()
    key = key.desc() if filters.descending else key.asc()
    if sort not in NEVER_NULL:
        key = key.nulls_last()
    # Ties: the ticket that moved last, then the id, so pages never repeat or skip a row.
    return statement.order_by(key, Ticket.updated_at.desc(), Ticket.id)


def _row(mapping) -> TicketRow:
    values = dict(mapping)
    values["tags"] = list(values["tags"] or [])
    return TicketRow(**values)


async def list_tickets(
    db: AsyncSession,
    viewer_id: uuid.UUID,
    filters: TicketFilters,
    page: int,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[TicketRow]:
    count, rows_of_page = _page_statements(filters)
    total = int(await db.scalar(count, {"viewer_id": viewer_id}) or 0)
    page = min(page, max(1, -(-total // per_page)))
    rows = await db.execute(
        rows_of_page,
        {"viewer_id": viewer_id, "limit": per_page, "offset": (page - 1) * per_page},
    )
    return Page([_row(row._mapping) for row in rows], total, page, per_page)


@lru_cache(maxsize=256)
def _page_statements(filters: TicketFilters) -> tuple[Select, Select]:
    """The count and the page of rows for `filters`, with the viewer, the page size and the
    offset left as parameters. Built once per set of filters: building them (and SQLAlchemy's
    cache key of a new statement) cost a third of a millisecond on every page of a queue."""
    rows = _ordered(_rows(_VIEWER, filters), filters)
    return _count(_VIEWER, filters), rows.limit(bindparam("limit")).offset(bindparam("offset"))


async def stream_tickets(
    db: AsyncSession, viewer_id: uuid.UUID, filters: TicketFilters
) -> AsyncIterator[TicketRow]:
    """Every matching ticket in the list's order, fetched in batches through a server-side
    cursor (an export of the whole desk never sits in memory)."""
    statement = _ordered(_rows(viewer_id, filters), filters)
    result = await db.stream(statement.execution_options(yield_per=STREAM_BATCH))
    async for row in result:
        yield _row(row._mapping)


# -- counts --------------------------------------------------------------------------------------


def _tallied(queue: str, viewer_id) -> ColumnElement[bool]:
    """The rows of ticket_queue_tallies whose sum is how many tickets `queue` holds: the
    triggers that keep them count by agent and by group, the queues name the viewer's."""
    tally = ticket_queue_tallies.c
    if queue == "mine":
        return (tally.queue == "assignee") & (tally.owner_id == viewer_id)
    if queue == "my_groups":
        return (tally.queue == "group") & tally.owner_id.in_(_my_groups(viewer_id))
    if queue in ("all", "unassigned", "at_risk", "breached"):
        return (tally.queue == queue) & tally.owner_id.is_(None)
    raise ValueError(f"unknown queue: {queue}")


def _tally_sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(ticket_queue_tallies.c.tickets).filter(condition), 0)


# Built once: the viewer is the only thing that changes from one page to the next.
_QUEUE_COUNTS = select(
    *(_tally_sum(_tallied(queue, _VIEWER)).label(queue) for queue in COUNTED_QUEUES)
).where(or_(*(_tallied(queue, _VIEWER) for queue in COUNTED_QUEUES)))


async def queue_counts(db: AsyncSession, viewer_id: uuid.UUID) -> dict[str, int]:
    """How many open tickets each queue holds, exactly, from the tallies: a handful of rows
    however many tickets there are."""
    row = (await db.execute(_QUEUE_COUNTS, {"viewer_id": viewer_id})).one()
    return dict(row._mapping)


# -- filter choices ------------------------------------------------------------------------------


# Each menu's rows with its order as a rank, so that the three can travel in one statement.
_CATEGORY_ROWS = select(
    literal("category").label("menu"),
    TicketCategory.id,
    TicketCategory.parent_id,
    TicketCategory.name,
    func.row_number().over(order_by=(TicketCategory.position, TicketCategory.name)).label("rank"),
)
_GROUP_ROWS = select(
    literal("group").label("menu"),
    SupportGroup.id,
    cast(None, Uuid()).label("parent_id"),
    SupportGroup.name,
    func.row_number().over(order_by=func.lower(SupportGroup.name)).label("rank"),
).where(SupportGroup.active.is_(True))
_AGENT_ROWS = select(
    literal("agent").label("menu"),
    User.id,
    cast(None, Uuid()).label("parent_id"),
    User.full_name.label("name"),
    func.row_number().over(order_by=(func.lower(User.full_name), User.id)).label("rank"),
).where(User.kind == UserKind.STAFF, User.status == UserStatus.ACTIVE)


@dataclass(frozen=True)
class TicketChoices:
    """What tickets are filtered by and set to: the category tree, the active groups and the
    active agents (who a ticket can be assigned to), each by name."""

    categories: list[Choice]
    groups: list[Choice]
    agents: list[Choice]


_MENUS = union_all(_CATEGORY_ROWS, _GROUP_ROWS, _AGENT_ROWS).subquery()
# Ranks interleave the menus; each menu's rows come in its own order.
_TICKET_CHOICES = select(_MENUS).order_by(_MENUS.c.rank)


async def ticket_choices(db: AsyncSession) -> TicketChoices:
    """The three menus in one round trip (the ticket list and the ticket page show all three)."""
    menus: dict[str, list] = {"category": [], "group": [], "agent": []}
    for row in await db.execute(_TICKET_CHOICES):
        menus[row.menu].append(row)
    return TicketChoices(
        _as_tree(menus["category"]),
        [Choice(row.id, row.name) for row in menus["group"]],
        [Choice(row.id, row.name) for row in menus["agent"]],
    )


async def category_choices(db: AsyncSession) -> list[Choice]:
    """Every category, depth-first by position then name, children under their parent."""
    return _as_tree(list(await db.execute(_CATEGORY_ROWS.order_by("rank"))))


async def group_choices(db: AsyncSession) -> list[Choice]:
    rows = await db.execute(_GROUP_ROWS.order_by("rank"))
    return [Choice(row.id, row.name) for row in rows]


def _as_tree(categories: list) -> list[Choice]:
    """Categories (id, parent_id, name) in their order, as a tree walked depth-first."""
    known = {category.id for category in categories}
    children: dict[uuid.UUID | None, list] = {}
    for category in categories:
        parent = category.parent_id if category.parent_id in known else None
        children.setdefault(parent, []).append(category)
    choices: list[Choice] = []
    seen: set[uuid.UUID] = set()

    def visit(parent: uuid.UUID | None, depth: int) -> None:
        for category in children.get(parent, []):
            if category.id in seen:  # a cycle in the data must not loop forever
                continue
            seen.add(category.id)
            choices.append(Choice(category.id, category.name, depth))
            visit(category.id, depth + 1)

    visit(None, 0)
    return choices


def known_statuses(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The values that are statuses, once each, in the vocabulary's order."""
    return tuple(status for status in STATUSES if status in values)


def known_priorities(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(priority for priority in PRIORITIES if priority in values)


@dataclass(frozen=True)
class TicketTitle:
    id: uuid.UUID
    number: str
    subject: str


async def ticket_titles(db: AsyncSession, ids: list[uuid.UUID]) -> dict[str, TicketTitle]:
    """Number and subject of each ticket, by id as text: for pages that name tickets they got
    from elsewhere (a bulk action's progress)."""
    rows = await db.execute(
        select(Ticket.id, Ticket.number, Ticket.subject).where(Ticket.id.in_(ids))
    )
    return {str(row.id): TicketTitle(row.id, row.number, row.subject) for row in rows}
