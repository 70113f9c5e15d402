"""Read queries over users: the admin console's list (search, filters, sort, pages) and the
users of one customer company."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, Role, Session, User, UserKind, UserRole, UserStatus
from db.queries.paging import DEFAULT_PER_PAGE, Page, total_of

SORTS = {
    "name": lambda: func.lower(User.full_name),
    "email": lambda: func.lower(User.email),
    "kind": lambda: User.kind,
    "status": lambda: User.status,
    "company": lambda: func.lower(Customer.name),
    "created": lambda: User.created_at,
}
DEFAULT_SORT = "created"  # newest first: the account just created or invited is on top
DESCENDING_FIRST = frozenset({"created"})  # columns whose natural order is newest first


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own wildcards taken literally (escape character: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class UserFilters:
    search: str = ""
    kind: UserKind | None = None
    status: UserStatus | None = None
    role: str = ""  # a role key
    sort: str = DEFAULT_SORT
    descending: bool = True


@dataclass
class UserRow:
    id: uuid.UUID
    full_name: str
    email: str
    kind: UserKind
    status: UserStatus
    company: str | None
    two_factor: bool
    created_at: datetime
    last_seen_at: datetime | None
    roles: list[Role] = field(default_factory=list)


def _last_seen():
    return (
        select(func.max(Session.last_seen_at))
        .where(Session.user_id == User.id, Session.pending_second_factor.is_(False))
        .correlate(User)
        .scalar_subquery()
    )


def _filtered(filters: UserFilters) -> Select:
    statement = select(
        User.id,
        User.full_name,
        User.email,
        User.kind,
        User.status,
        Customer.name.label("company"),
        User.totp_enabled_at.is_not(None).label("two_factor"),
        User.created_at,
        _last_seen().label("last_seen_at"),
    ).outerjoin(Customer, Customer.id == User.customer_id)
    if filters.search.strip():
        pattern = like_pattern(filters.search.strip())
        statement = statement.where(
            or_(
                User.full_name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
                Customer.name.ilike(pattern, escape="\\"),
            )
        )
    if filters.kind is not None:
        statement = statement.where(User.kind == filters.kind)
    if filters.status is not None:
        statement = statement.where(User.status == filters.status)
    if filters.role:
        statement = statement.where(
            exists().where(
                UserRole.user_id == User.id,
                UserRole.role_id == Role.id,
                Role.key == filters.role,
            )
        )
    return statement


async def list_users(
    db: AsyncSession, filters: UserFilters, page: int, per_page: int = DEFAULT_PER_PAGE
) -> Page[UserRow]:
    statement = _filtered(filters)
    total = await total_of(db, statement)
    page = min(page, max(1, -(-total // per_page)))
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])()
    order = order.desc().nulls_last() if filters.descending else order.asc().nulls_last()
    rows = (
        await db.execute(
            statement.order_by(order, User.id).limit(per_page).offset((page - 1) * per_page)
        )
    ).all()
    items = [UserRow(**row._mapping) for row in rows]
    await _attach_roles(db, items)
    return Page(items, total, page, per_page)


async def _attach_roles(db: AsyncSession, items: list[UserRow]) -> None:
    if not items:
        return
    by_id = {item.id: item for item in items}
    rows = await db.execute(
        select(UserRole.user_id, Role)
        .join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id.in_(by_id))
        .order_by(Role.builtin.desc(), Role.name)
    )
    for user_id, role in rows:
        by_id[user_id].roles.append(role)


async def company_users(db: AsyncSession, customer_id: uuid.UUID) -> list[UserRow]:
    """Every user of one company, active ones first, then by name."""
    statement = _filtered(UserFilters()).where(User.customer_id == customer_id)
    rows = (
        await db.execute(
            statement.order_by(
                (User.status == UserStatus.DEACTIVATED).asc(), func.lower(User.full_name), User.id
            )
        )
    ).all()
    items = [UserRow(**row._mapping) for row in rows]
    await _attach_roles(db, items)
    return items


async def all_roles(db: AsyncSession, scope: UserKind | None = None) -> list[Role]:
    statement = select(Role).order_by(Role.scope, Role.builtin.desc(), Role.name)
    if scope is not None:
        statement = statement.where(Role.scope == scope)
    return list(await db.scalars(statement))


async def role_holders(db: AsyncSession) -> dict[uuid.UUID, int]:
    """How many users hold each role (deactivated users included: they still hold it)."""
    rows = await db.execute(select(UserRole.role_id, func.count()).group_by(UserRole.role_id))
    return {role_id: count for role_id, count in rows}


async def count_active_holders(
    db: AsyncSession,
    role_key: str,
    *,
    excluding: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> int:
    """Active users holding a role, optionally within one company and without one user."""
    conditions = [
        User.status == UserStatus.ACTIVE,
        exists().where(
            and_(UserRole.user_id == User.id, UserRole.role_id == Role.id, Role.key == role_key)
        ),
    ]
    if excluding is not None:
        conditions.append(User.id != excluding)
    if customer_id is not None:
        conditions.append(User.customer_id == customer_id)
    return int(await db.scalar(select(func.count()).select_from(User).where(*conditions)) or 0)
