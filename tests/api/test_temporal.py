"""The Temporal helpers, on the dev server."""

from __future__ import annotations

import asyncio
import os
import socket

from api.temporal import task_queue_pollers


async def test_the_running_worker_is_among_the_task_queues_pollers(
    temporal_client, settings, worker
):
    # The worker container's health check and the benchmarks' start-up both rest on this. A
    # worker shows once its first poll has reached the server.
    me = f"{os.getpid()}@{socket.gethostname()}"
    for _ in range(50):
        if me in await task_queue_pollers(temporal_client, settings):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{me} never polled the task queue")


async def test_a_queue_nobody_polls_has_no_pollers(temporal_client, settings):
    quiet = settings.model_copy(update={"temporal_task_queue": "nobody-polls-this-queue"})
    assert await task_queue_pollers(temporal_client, quiet) == []
