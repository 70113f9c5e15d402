"""One database connection per request, shared by everything that reads or writes during it:
the signed-in user's lookup (`web.auth`), the staff sidebar's counts (`web.staff_sidebar`) and
the route's `SessionDep` (`api.routes.deps.get_db`).

Each of them used to open its own session, so a staff page checked out three connections from
the pool, each with its own BEGIN / ROLLBACK (and, with pre-ping, three more round trips). Now
the first of them to need the database checks out one connection, and a session bound to it
serves the rest of the request. The session keeps SQLAlchemy's usual transactions: whoever
writes still commits explicitly (`async with db.begin()` or `db.commit()`); the connection stays
checked out between them, and whatever is left uncommitted is rolled back when it is released.

The lookups every request makes before its route (the user, the sidebar's counts) read, or write
one row in one statement: they run in autocommit (`request_autocommit`), without the BEGIN and
COMMIT round trips a transaction would add, and the connection is back in transactions before
the route runs.

It is released as soon as the response starts (as the per-route session was: a streamed body,
such as a CSV export, reads through its own session), or when the request fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATE_KEY = "database"


class RequestDatabase:
    """The request's session, created (and its connection checked out) on first use."""

    def __init__(self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]):
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None
        self._released = False

    async def session(self) -> AsyncSession:
        if self._released:
            raise RuntimeError("the request's database session ends when the response starts")
        if self._session is None:
            self._connection = await self._engine.connect()
            # Bound to a connection that is not in a transaction, the session begins, commits
            # and rolls back real transactions on it, and leaves the connection open between them.
            self._session = self._sessionmaker(bind=self._connection)
        return self._session

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncSession]:
        """The session with each statement committed on its own. Under READ COMMITTED every
        statement reads its own snapshot anyway, so for lone reads and one-statement writes this
        changes nothing but the two round trips. Never for a route's writes: several statements
        that must stand or fall together need `db.begin()`."""
        session = await self.session()
        connection = self._connection
        assert connection is not None
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            async with session.begin():  # commits nothing: the statements already have
                yield session
        finally:
            await connection.execution_options(isolation_level=connection.default_isolation_level)

    async def release(self) -> None:
        """Roll back what is uncommitted and give the connection back to the pool."""
        self._released = True
        session, connection = self._session, self._connection
        self._session = self._connection = None
        # Shielded: a client that goes away cancels the request, and the connection must still
        # go back to the pool.
        with anyio.CancelScope(shield=True):
            try:
                if session is not None:
                    await session.close()
            finally:
                if connection is not None:
                    await connection.close()


def request_database(connection: HTTPConnection) -> RequestDatabase | None:
    return connection.scope.get("state", {}).get(STATE_KEY)


def _required_database(connection: HTTPConnection) -> RequestDatabase:
    database = request_database(connection)
    if database is None:
        raise LookupError("no request database: the app is missing DatabaseMiddleware")
    return database


async def request_session(connection: HTTPConnection) -> AsyncSession:
    return await _required_database(connection).session()


def request_autocommit(connection: HTTPConnection) -> AbstractAsyncContextManager[AsyncSession]:
    """`RequestDatabase.autocommit` of the request's database."""
    return _required_database(connection).autocommit()


def is_app_request(scope: Scope) -> bool:
    """An HTTP request the app answers (static files need no database and no principal)."""
    return scope["type"] == "http" and not scope["path"].startswith("/static/")


class DatabaseMiddleware:
    """Puts a `RequestDatabase` in each HTTP request's state and releases it at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_app_request(scope):
            await self.app(scope, receive, send)
            return
        app_state = scope["app"].state
        database = RequestDatabase(app_state.engine, app_state.sessionmaker)
        scope.setdefault("state", {})[STATE_KEY] = database

        async def send_releasing(message: Message) -> None:
            if message["type"] == "http.response.start":
                await database.release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            await database.release()
