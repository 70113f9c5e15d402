"""The real parts, started once per test session: PostgreSQL (embedded, or TEST_DATABASE_URL),
the Temporal dev server and the time-skipping test server, an SMTP sink, the worker, the web app
on a free port, and Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.bootstrap import prepare_database
from api.settings import Settings
from api.temporal import DATA_CONVERTER
from cli.embedded_postgres import EmbeddedPostgres
from cli.ports import free_port
from cli.temporal_dev import SQLITE_PRAGMAS, venv_binary
from db.session import create_engine, create_sessionmaker
from tests.support.accounts import make_person, sign_in
from tests.support.imap_server import ImapServer
from tests.support.smtp_sink import SmtpSink
from web.app import create_app
from workflows import search_attributes
from workflows.worker import running_worker

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
TASK_QUEUE = "cloudmanager-test"


@pytest.fixture(scope="session")
def scratch_dir() -> Iterator[Path]:
    # Under /tmp, not pytest's tmp_path: PostgreSQL runs as `nobody` when we are root, and
    # pytest's base folder is private to root.
    path = Path(tempfile.mkdtemp(prefix="cloudmanager-tests-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _migrate(url: str) -> None:
    # Alembic's env runs its own event loop: keep it off any loop this thread may own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(prepare_database, url).result()


@pytest.fixture(scope="session")
def database(scratch_dir: Path) -> Iterator[tuple[str, str]]:
    """(owner URL for migrations, application URL) — two roles, as in production."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        url = Settings(database_url=external, _env_file=None).sqlalchemy_url
        _migrate(url)
        yield url, url
        return
    postgres = EmbeddedPostgres(scratch_dir / "postgres", free_port(), durable=False)
    owner_url = postgres.start()
    try:
        _migrate(owner_url)
        yield owner_url, postgres.app_url
    finally:
        postgres.stop()


@pytest.fixture(scope="session")
def database_url(database: tuple[str, str]) -> str:
    return database[1]


@pytest_asyncio.fixture(scope="session")
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (updates, queries, search attributes), in memory."""
    extra = [arg for pragma in SQLITE_PRAGMAS for arg in ("--sqlite-pragma", pragma)]
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=search_attributes.ALL,
        dev_server_extra_args=extra,
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Java test server: long timers (days) elapse instantly once nothing else is pending."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=venv_binary("temporal-test-server"),
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def imap_server(scratch_dir: Path) -> Iterator[ImapServer]:
    """Debian's dovecot on a free port; tests add their own accounts."""
    server = ImapServer(scratch_dir / "dovecot", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _empty_smtp_sink(request: pytest.FixtureRequest) -> None:
    # Each test reads only the mail it caused.
    if "smtp_sink" in request.fixturenames:
        request.getfixturevalue("smtp_sink").clear()


@pytest.fixture(scope="session")
def settings(
    database: tuple[str, str],
    temporal_env: WorkflowEnvironment,
    smtp_sink: SmtpSink,
    scratch_dir: Path,
) -> Settings:
    owner_url, app_url = database
    return Settings(
        _env_file=None,
        environment="test",
        secret_key=TEST_SECRET_KEY,
        database_url=app_url,
        migration_database_url=owner_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue=TASK_QUEUE,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_timeout_seconds=5,
        data_dir=scratch_dir / "data",
        web_port=free_port(),
        default_locale="en",
    )


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest_asyncio.fixture(scope="session")
async def worker(
    temporal_client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Worker]:
    """The application's own worker, every workflow and activity, on the test task queue, with
    the email relay."""
    async with running_worker(temporal_client, settings, sessionmaker) as running:
        yield running


@pytest_asyncio.fixture(scope="session")
async def web_url(settings: Settings, worker: Worker) -> AsyncIterator[str]:
    """The web app served by uvicorn on a free port, in this process and event loop."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=settings.web_port, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{settings.web_port}"
    server.should_exit = True
    await serving


@pytest_asyncio.fixture
async def http(web_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web_url, follow_redirects=False, timeout=20) as client:
        yield client


@pytest_asyncio.fixture
async def signed_in(web_url: str, sessionmaker, settings):
    """`client = await signed_in("agent")`: a new person with that role, signed in."""
    clients: list[httpx.AsyncClient] = []

    async def open_client(role: str = "customer_owner", **person_options):
        person = await make_person(sessionmaker, settings, role=role, **person_options)
        client = httpx.AsyncClient(base_url=web_url, follow_redirects=False, timeout=20)
        clients.append(client)
        await sign_in(client, person)
        client.person = person
        return client

    yield open_client
    for client in clients:
        await client.aclose()


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest_asyncio.fixture(scope="session")
async def browser():
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def page(browser, web_url: str):
    context = await browser.new_context(base_url=web_url, locale="en-GB")
    opened = await context.new_page()
    yield opened
    with contextlib.suppress(Exception):
        await context.close()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]
