"""One database connection per request (web.database): the sign-in lookup, the sidebar's queue
counts and the page share it, the lookups before the route add no transaction round trips, it
goes back to the pool after every answer, and what a failed request wrote is rolled back.

These tests run their own copy of the app in-process, so that its pool can be watched without
the test session's other users (the worker, the fixtures' sessionmaker) counting too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest_asyncio
from fastapi import APIRouter
from sqlalchemy import event, func, select, text, update

from api.identity.keys import sha256_hex
from api.routes.deps import SessionDep
from db.models import Customer, Session
from tests.support.accounts import make_person, sign_in
from tests.support.ticket_rows import make_customer, make_ticket
from tests.web.test_staff_tickets import queue_count
from web.app import create_app

EN = {"Accept-Language": "en"}


class Checkouts:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args) -> None:
        self.count += 1


@pytest_asyncio.fixture
async def own_app(settings) -> AsyncIterator:
    app = create_app(settings)
    failing = APIRouter()

    @failing.get("/test/write-then-fail/{name}")
    async def write_then_fail(name: str, db: SessionDep) -> None:
        customer = await db.scalar(select(Customer).where(Customer.name == name))
        customer.name = f"{name} (changed)"
        await db.flush()
        raise RuntimeError("the request fails after writing")

    app.include_router(failing)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def statements_of(app) -> AsyncIterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@asynccontextmanager
async def wire_of(app) -> AsyncIterator[list[str]]:
    """The plain queries asyncpg sends on the connections checked out while the block runs:
    transaction control (BEGIN, COMMIT, ROLLBACK), which SQLAlchemy's events do not show.
    (Prepared statements, the SELECTs, do not pass through asyncpg's query loggers.)"""
    sent: list[str] = []
    watched = []

    def log(query) -> None:
        sent.append(query.query.strip())

    def checked_out(dbapi_connection, *_args) -> None:
        driver = dbapi_connection.driver_connection
        driver.add_query_logger(log)
        watched.append(driver)

    pool = app.state.engine.sync_engine.pool
    event.listen(pool, "checkout", checked_out)
    try:
        yield sent
        await asyncio.sleep(0.05)  # asyncpg calls its loggers soon after, not during, a query
    finally:
        event.remove(pool, "checkout", checked_out)
        for driver in watched:
            driver.remove_query_logger(log)


@asynccontextmanager
async def client_of(app, **options) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=EN, **options
    ) as client:
        yield client


async def test_a_staff_page_checks_out_one_connection(own_app, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Mine", assignee_id=person.user.id)
    pool = own_app.state.engine.sync_engine.pool
    checkouts = Checkouts()
    async with client_of(own_app) as agent:
        await sign_in(agent, person)
        event.listen(pool, "checkout", checkouts)
        try:
            page = await agent.get("/staff/tickets?queue=mine")
        finally:
            event.remove(pool, "checkout", checkouts)
    assert page.status_code == 200
    # The three users of the database were all there: the user, the sidebar, the list.
    assert queue_count(page.text, "mine") == "1"
    assert "Mine" in page.text
    assert checkouts.count == 1
    assert pool.checkedout() == 0


async def test_the_lookups_before_the_route_add_no_transaction(own_app, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    async with client_of(own_app) as agent:
        await sign_in(agent, person)
        async with wire_of(own_app) as wire:
            page = await agent.get("/staff/tickets?queue=mine")
    assert page.status_code == 200
    # The user's session, its permissions and the sidebar's counts are read in autocommit;
    # the route's own reads are the one transaction, rolled back at the end.
    assert [sql for sql in wire if sql.startswith(("BEGIN", "COMMIT", "ROLLBACK"))] == [
        "BEGIN ISOLATION LEVEL READ COMMITTED;",
        "ROLLBACK;",
    ]


async def test_the_session_is_marked_seen_at_most_once_a_minute(own_app, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    async with client_of(own_app) as agent:
        await sign_in(agent, person)
        async with statements_of(own_app) as fresh:
            assert (await agent.get("/staff/tickets")).status_code == 200
        async with sessionmaker() as db, db.begin():
            await db.execute(
                update(Session)
                .where(Session.token_hash == sha256_hex(agent.cookies["cm_session"]))
                .values(last_seen_at=func.now() - text("interval '2 minutes'"))
            )
        async with statements_of(own_app) as stale:
            assert (await agent.get("/staff/tickets")).status_code == 200
    async with sessionmaker() as db:
        seen_ago = await db.scalar(
            select(func.now() - Session.last_seen_at).where(
                Session.token_hash == sha256_hex(agent.cookies["cm_session"])
            )
        )

    # Seen seconds ago: not even an UPDATE that changes nothing is sent.
    assert not [sql for sql in fresh if sql.startswith("UPDATE sessions")]
    assert [sql for sql in stale if sql.startswith("UPDATE sessions")]
    assert seen_ago.total_seconds() < 60


async def test_requests_give_their_connection_back(own_app, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    pool = own_app.state.engine.sync_engine.pool
    async with client_of(own_app) as agent:
        await sign_in(agent, person)
        assert pool.checkedout() == 0
        for path in ("/staff/tickets?queue=all", "/staff/tickets/export.csv", "/no-such-page"):
            answer = await agent.get(path)
            assert answer.status_code in (200, 404), (path, answer.status_code)
            assert pool.checkedout() == 0, path
    async with client_of(own_app) as anonymous:
        assert (await anonymous.get("/login")).status_code == 200
        assert pool.checkedout() == 0


async def test_a_failed_request_rolls_back_what_it_wrote(own_app, sessionmaker, settings):
    customer = await make_customer(sessionmaker)
    pool = own_app.state.engine.sync_engine.pool
    async with client_of(own_app) as client:
        answer = await client.get(f"/test/write-then-fail/{customer.name}")
    assert answer.status_code == 500
    assert pool.checkedout() == 0
    async with sessionmaker() as db:
        name = await db.scalar(select(Customer.name).where(Customer.id == customer.id))
    assert name == customer.name


async def _terminate(sessionmaker, pids: set[int]) -> None:
    """What a restart of PostgreSQL does to each connection: its backend is told to stop, and
    closes the socket."""
    async with sessionmaker() as db:
        for pid in pids:
            await db.execute(text("select pg_terminate_backend(:pid)").bindparams(pid=pid))
        for _ in range(100):
            alive = await db.scalar(
                text("select count(*) from pg_stat_activity where pid = any(:pids)").bindparams(
                    pids=list(pids)
                )
            )
            if not alive:
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # the client's event loop reads the end of each stream


async def test_pages_work_after_the_database_closed_every_connection(
    own_app, sessionmaker, settings
):
    person = await make_person(sessionmaker, settings, role="agent")
    pool = own_app.state.engine.sync_engine.pool
    pids: set[int] = set()

    def remember(dbapi_connection, _record) -> None:
        pids.add(dbapi_connection.driver_connection.get_server_pid())

    event.listen(pool, "connect", remember)
    async with client_of(own_app) as agent:
        await sign_in(agent, person)
        assert (await agent.get("/staff/tickets?queue=mine")).status_code == 200
        assert pids and pool.checkedin() > 0
        await _terminate(sessionmaker, set(pids))
        for _ in range(3):
            page = await agent.get("/staff/tickets?queue=mine")
            assert page.status_code == 200
            assert queue_count(page.text, "mine") == "0"
