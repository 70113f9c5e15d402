"""The embedded parts `make run` starts: data and running workflows survive a restart, and a
port that is already taken is reported in plain words."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.email import EmailActivities
from api.temporal import DATA_CONVERTER
from cli.embedded_postgres import EmbeddedPostgres
from cli.ports import PortTaken, free_port
from cli.temporal_dev import TemporalDevServer
from workflows.outbound_email import OutboundEmailWorkflow, SendEmail
from workflows.worker import smtp_config


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_embedded_postgres_keeps_its_data_across_restarts(scratch_dir: Path):
    postgres = EmbeddedPostgres(scratch_dir / f"pg-{uuid.uuid4().hex[:6]}", free_port())
    try:
        url = await asyncio.to_thread(postgres.start)
        connection = await asyncpg.connect(_asyncpg_dsn(url))
        await connection.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('été')")
        await connection.close()
        await asyncio.to_thread(postgres.stop)

        url = await asyncio.to_thread(postgres.start)
        connection = await asyncpg.connect(_asyncpg_dsn(url))
        assert await connection.fetchval("SELECT note FROM kept") == "été"
        await connection.close()
    finally:
        await asyncio.to_thread(postgres.stop)


async def test_workflow_started_before_a_restart_finishes_after_it(
    scratch_dir: Path, settings, sessionmaker, smtp_sink, unique
):
    """An email whose SMTP server is down is retrying when everything stops; after the restart
    the same run carries on and delivers once."""
    server = TemporalDevServer(scratch_dir / f"temporal-{unique}.sqlite", free_port(), free_port())
    down = EmailActivities(
        sessionmaker, smtp_config(settings.model_copy(update={"smtp_port": free_port()}))
    )
    up = EmailActivities(sessionmaker, smtp_config(settings))
    address = f"restart-{unique}@example.dz"
    request = SendEmail(
        idempotency_key=f"restart:{unique}", to=address, template="test_message",
        context={"sender": "ops"}, locale="en",
    )  # fmt: skip
    queue = f"restart-{unique}"
    try:
        await asyncio.to_thread(server.start)
        client = await Client.connect(server.address, data_converter=DATA_CONVERTER)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[OutboundEmailWorkflow],
            activities=[down.send_email],
        ):
            handle = await client.start_workflow(
                OutboundEmailWorkflow.run, request, id=f"email-{request.idempotency_key}",
                task_queue=queue,
            )  # fmt: skip
            await _wait_for_failed_attempt(handle)
        await asyncio.to_thread(server.stop)

        await asyncio.to_thread(server.start)
        client = await Client.connect(server.address, data_converter=DATA_CONVERTER)
        handle = client.get_workflow_handle_for(OutboundEmailWorkflow.run, handle.id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        async with Worker(
            client, task_queue=queue, workflows=[OutboundEmailWorkflow], activities=[up.send_email]
        ):
            # The retry timer (10 s after the first failure) fires on the restarted server.
            delivery = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        await asyncio.to_thread(server.stop)

    assert delivery.status == "sent"
    assert len(smtp_sink.to(address)) == 1


async def _wait_for_failed_attempt(handle) -> None:
    for _ in range(200):
        description = await handle.describe()
        pending = description.raw_description.pending_activities
        if pending and pending[0].attempt >= 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the first email attempt did not fail as expected")


def test_a_taken_port_is_reported_in_plain_words(scratch_dir: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        server = TemporalDevServer(scratch_dir / "never.sqlite", taken, free_port())

        with pytest.raises(PortTaken) as problem:
            server.start()

    message = str(problem.value)
    assert f"Port {taken} is already in use by another process" in message
    assert "TEMPORAL_PORT=" in message
