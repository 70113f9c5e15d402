"""`cloudmanager relay`: the email relay (activities.email_relay) in a process of its own, until
SIGINT or SIGTERM; then the batch in hand finishes before it exits. `--heartbeat FILE` keeps a
file touched while it relays, for a container health check (temporal-compose.yml).

Its own process rather than a task beside each worker: rendering and sending emails is
synchronous work in places (Jinja, the `email` package), and on a worker's event loop it delayed
the workflow tasks and local activities waiting behind it (bench.tickets, the reply p99).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from api.heap import settle_heap
from api.settings import Settings
from db.session import create_engine, create_sessionmaker
from workflows.worker import email_relay

log = logging.getLogger(__name__)


async def run_relay(settings: Settings, heartbeat: Path | None = None) -> None:
    # No pre-ping, as for the worker: the relay's sessions are short and many.
    engine = create_engine(settings.sqlalchemy_url, pre_ping=False)
    sessionmaker = create_sessionmaker(engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        async with email_relay(settings, sessionmaker, heartbeat):
            settle_heap()
            log.info("email relay sending what the outbox holds")
            await stop.wait()
            log.info("email relay stopping")
    finally:
        await engine.dispose()
