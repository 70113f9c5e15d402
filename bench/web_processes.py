"""Web servers for the benchmarks, each in a process of its own as in production (one uvicorn
worker), so the HTTP side does not share the benchmark's event loop and GIL; and the memory
readings the ticket benchmark reports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.settings import Settings
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


@contextmanager
def uvicorn_process(factory: str, environment: dict[str, str], log: Path) -> Iterator[str]:
    """`python -m uvicorn <factory> --factory` on a free port; yields its base URL once
    /healthz answers, and stops it on the way out."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
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
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
