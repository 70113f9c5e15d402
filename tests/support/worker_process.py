"""The application's worker in its own process, on a task queue of the test's choosing, so a
test can kill it (SIGKILL: no clean-up, as a crash) and start another.

`python -m tests.support.worker_process TASK_QUEUE` with the settings in the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import uvloop

from api.settings import Settings
from api.temporal import connect_temporal
from db.session import create_engine, create_sessionmaker
from workflows.worker import build_worker, email_relay


def environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": settings.environment,
        "SECRET_KEY": settings.secret,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "DATA_DIR": str(settings.data_dir),
        "DEFAULT_LOCALE": settings.default_locale,
    }


class WorkerProcess:
    def __init__(self, settings: Settings, task_queue: str, log: Path) -> None:
        self._settings = settings
        self._task_queue = task_queue
        self._log = log
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        with self._log.open("ab") as output:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.worker_process", self._task_queue],
                env=environment(self._settings),
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
            )

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)


async def _run(task_queue: str) -> None:
    settings = Settings(_env_file=None)
    engine = create_engine(settings.sqlalchemy_url)
    client = await connect_temporal(settings)
    sessionmaker = create_sessionmaker(engine)
    worker = build_worker(client, settings, sessionmaker, task_queue=task_queue)
    try:
        async with email_relay(settings, sessionmaker):
            await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    uvloop.run(_run(sys.argv[1]))  # as `cloudmanager worker` runs
