"""Web servers, Temporal workers and the email relay for the benchmarks, each in processes of their
own as in production (uvicorn workers, `cloudmanager web --workers N`; `cloudmanager worker`
replicas; `cloudmanager relay`),
so none shares the benchmark's event loop and GIL; and the memory and CPU readings the ticket
benchmark reports."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client

from api.settings import Settings
from api.temporal import task_queue_pollers
from cli.ports import free_port

HEALTHY_WITHIN_SECONDS = 30.0
PROJECT = Path(__file__).resolve().parents[1]


def app_environment(settings: Settings) -> dict[str, str]:
    """The variables that make `web.app:create_app` talk to the benchmark's stack."""
    return {
        "ENVIRONMENT": settings.environment,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "DATA_DIR": str(settings.data_dir),
    }


@dataclass(frozen=True)
class WebProcess:
    url: str
    pid: int  # uvicorn's; with several workers, their supervisor

    def pids(self) -> list[int]:
        """The server's processes: the supervisor and its workers."""
        return with_children(self.pid)


@contextmanager
def uvicorn_process(
    factory: str, environment: dict[str, str], log: Path, workers: int
) -> Iterator[WebProcess]:
    """`python -m uvicorn <factory> --factory --workers N` on a free port; yields its base URL
    and pid once /healthz answers, and stops it on the way out."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **environment}
    # A developer's .env must not steer the numbers: run from a folder without one.
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=log.parent,
            start_new_session=True,
        )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, process, log)
        yield WebProcess(base_url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def worker_processes(
    client: Client, settings: Settings, environment: dict[str, str], log: Path, count: int
) -> AsyncIterator[list[int]]:
    """`count` processes of `cloudmanager worker`, as `--scale worker=N` deploys them; yields
    their pids once each polls the task queue, and stops them on the way out."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **environment}
    processes: list[asyncio.subprocess.Process] = []
    try:
        with log.open("ab") as output:
            for _ in range(count):
                processes.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "cli.main", "worker", env=env, stdout=output,
                    stderr=asyncio.subprocess.STDOUT, cwd=log.parent, start_new_session=True,
                ))  # fmt: skip
        await _wait_polling(client, settings, processes, log)
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


@asynccontextmanager
async def relay_process(environment: dict[str, str], log: Path) -> AsyncIterator[int]:
    """`cloudmanager relay`; yields its pid once it has passed over the outbox (its heartbeat
    file exists), and stops it on the way out."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **environment}
    heartbeat = log.parent / "relay.alive"
    heartbeat.unlink(missing_ok=True)
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "relay", "--heartbeat", str(heartbeat),
            env=env, stdout=output, stderr=asyncio.subprocess.STDOUT, cwd=log.parent,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
        while not heartbeat.exists():
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the email relay did not start; see {log}")
            await asyncio.sleep(0.2)
        yield process.pid
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_polling(
    client: Client, settings: Settings, processes: list[asyncio.subprocess.Process], log: Path
) -> None:
    """Until every process is among the task queue's pollers (a worker's identity is
    `pid@host`)."""
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    waiting = {str(process.pid) for process in processes}
    while waiting:
        if any(process.returncode is not None for process in processes):
            raise RuntimeError(f"a worker exited at start; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not polling within {HEALTHY_WITHIN_SECONDS:.0f} s")
        pollers = await task_queue_pollers(client, settings)
        waiting -= {identity.split("@")[0] for identity in pollers}
        await asyncio.sleep(0.2)


def _wait_healthy(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base_url} exited at start; see {log}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} not healthy within {HEALTHY_WITHIN_SECONDS:.0f} s")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def pid_with_argument(argument: str) -> int | None:
    """The process whose command line holds `argument` (the dev server's SQLite path, say)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in arguments:
            return int(entry.name)
    return None


def files_bytes(*paths: Path) -> int:
    return sum(path.stat().st_size for path in paths if path.exists())


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (0 once it is gone)."""
    try:
        # Fields after the command name (which may hold spaces): state, ppid, …, utime, stime.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_children(pid: int) -> list[int]:
    """The process and its children: PostgreSQL's backends are its postmaster's children."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except OSError:
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU used by groups of processes from now on: `per_operation(n)` gives each group's
    milliseconds per operation over n operations. A group is a function naming its processes
    when asked (PostgreSQL's backends come and go with the pools)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._started = self._used()

    def _used(self) -> dict[str, float]:
        return {name: sum(map(cpu_seconds, pids())) for name, pids in self._groups.items()}

    def per_operation(self, operations: int) -> dict[str, float]:
        used = self._used()
        return {name: (used[name] - self._started[name]) * 1000 / operations for name in used}
