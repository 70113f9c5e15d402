"""Engine and session factory. One engine per process, built from the database URL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping` tests each connection as it leaves the pool (with asyncpg: BEGIN, `;`,
    ROLLBACK, three round trips), so a request after a database restart does not fail. The
    worker turns it off: its activities are retried, and a dead connection fails one attempt,
    which the pool then replaces."""
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: activities and routes read attributes after commit without
    # a second round trip (and without lazy loads, which async sessions forbid).
    return async_sessionmaker(engine, expire_on_commit=False)
