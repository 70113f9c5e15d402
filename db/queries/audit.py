"""Read queries over the audit trail: filtered pages, newest first, and the same rows streamed
for a CSV export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent
from db.queries.paging import DEFAULT_PER_PAGE, Page, total_of
from db.queries.users import like_pattern

STREAM_BATCH = 500


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # part of the actor's label (an email, "system", "anonymous")
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


def _filtered(filters: AuditFilters) -> Select:
    statement = select(AuditEvent)
    if filters.actor.strip():
        statement = statement.where(
            AuditEvent.actor_label.ilike(like_pattern(filters.actor.strip()), escape="\\")
        )
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.target_type:
        statement = statement.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id.strip():
        statement = statement.where(AuditEvent.target_id == filters.target_id.strip())
    if filters.start is not None:
        statement = statement.where(AuditEvent.occurred_at >= filters.start)
    if filters.end is not None:
        statement = statement.where(AuditEvent.occurred_at < filters.end)
    return statement


def _newest_first(statement: Select) -> Select:
    return statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


async def page_of_events(
    db: AsyncSession, filters: AuditFilters, page: int, per_page: int = DEFAULT_PER_PAGE
) -> Page[AuditEvent]:
    statement = _filtered(filters)
    total = await total_of(db, statement)
    page = min(page, max(1, -(-total // per_page)))
    rows = await db.scalars(_newest_first(statement).limit(per_page).offset((page - 1) * per_page))
    return Page(list(rows), total, page, per_page)


async def stream_events(db: AsyncSession, filters: AuditFilters) -> AsyncIterator[AuditEvent]:
    """Every matching event, newest first, fetched in batches through a server-side cursor."""
    result = await db.stream_scalars(
        _newest_first(_filtered(filters)).execution_options(yield_per=STREAM_BATCH)
    )
    async for event in result:
        yield event


async def distinct_actions(db: AsyncSession) -> list[str]:
    return list(await db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


async def distinct_target_types(db: AsyncSession) -> list[str]:
    rows = await db.scalars(
        select(AuditEvent.target_type)
        .where(AuditEvent.target_type != "")
        .distinct()
        .order_by(AuditEvent.target_type)
    )
    return list(rows)
