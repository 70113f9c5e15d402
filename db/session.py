"""Engine and session factory. One engine per process, built from the database URL."""

from __future__ import annotations

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping` tests each connection as it leaves the pool (with asyncpg: BEGIN, `;`,
    ROLLBACK, three round trips), so a request after a database restart does not fail. The
    worker and the web app (`web.app`) turn it off.

    Without it, a database restart is still caught, for free, on checkout
    (`_drop_closed_connections`). What pre-ping alone catches is a connection lost without the
    server closing it (the database's host gone, a firewall dropping idle connections): the
    statement that finds it fails once, and that failure invalidates every connection the pool
    held before it, so the next checkouts reconnect."""
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping
    )
    event.listen(engine.sync_engine.pool, "checkout", _drop_closed_connections)
    return engine


def _drop_closed_connections(dbapi_connection, _record, _proxy) -> None:
    # When PostgreSQL stops (a restart, pg_terminate_backend), each backend closes its socket;
    # asyncpg sees the end of the stream while the connection idles in the pool and marks it
    # closed. Refusing it here makes the pool open a new one in its place: no round trip.
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise exc.DisconnectionError("the connection was closed while in the pool")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: activities and routes read attributes after commit without
    # a second round trip (and without lazy loads, which async sessions forbid).
    return async_sessionmaker(engine, expire_on_commit=False)
