"""`cloudmanager web --workers N`: N uvicorn worker processes behind one port, all stopped with
their supervisor."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.web_processes import with_children
from cli.ports import free_port
from tests.support.worker_process import environment

ROOT = Path(__file__).resolve().parents[2]


def _web_workers(supervisor: int) -> list[int]:
    """The supervisor's children that serve requests (multiprocessing's resource tracker aside)."""
    return [pid for pid in with_children(supervisor)[1:] if b"spawn_main" in _command(pid)]


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone meanwhile
        return b""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_web_runs_the_asked_number_of_workers_and_stops_them_all(
    settings, scratch_dir: Path, unique
):
    port = free_port()
    log = scratch_dir / f"web-{unique}.log"
    with log.open("ab") as output:
        web = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "web", "--workers", "2",
            env={**environment(settings), "WEB_PORT": str(port)}, stdout=output,
            stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            while True:
                assert web.returncode is None, log.read_text()
                assert time.monotonic() < deadline, f"not serving within 60 s: {log.read_text()}"
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        workers = _web_workers(web.pid)
                        if len(workers) == 2:
                            break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            assert (await http.get("/login")).status_code == 200
        web.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(web.wait(), 30) == 0, log.read_text()
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)):
            assert time.monotonic() < deadline, "a web worker outlived its supervisor"
            await asyncio.sleep(0.1)
    finally:
        if web.returncode is None:
            web.kill()
            await web.wait()
