"""One page of a list: the rows, the total row count and the numbers a pager needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")

DEFAULT_PER_PAGE = 25
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page(Generic[Row]):
    items: Sequence[Row]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        """1-based index of the first row shown (0 when there is none)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: str | int | None) -> int:
    """A page number from a query string: anything unreadable is the first page."""
    try:
        number = int(raw or 1)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


async def total_of(db: AsyncSession, statement: Select) -> int:
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return int(await db.scalar(counted) or 0)
