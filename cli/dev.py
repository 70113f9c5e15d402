"""`cloudmanager dev`: the whole product on one machine, stopped as one by Ctrl-C.

Embedded PostgreSQL and the Temporal dev server keep their data under DATA_DIR, so the next run
finds the same records and the workflows that were running, timers included.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request

from api.bootstrap import prepare_database
from api.demo_data import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo_data
from api.settings import Settings
from cli.embedded_postgres import EmbeddedPostgres
from cli.mail_catcher import MailCatcher, catcher_for
from cli.ports import ensure_free
from cli.temporal_dev import TemporalDevServer

READY_TIMEOUT_SECONDS = 60


def run_everything(settings: Settings) -> int:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    mail_catcher: MailCatcher | None = None
    children: list[subprocess.Popen] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        ensure_free(settings.web_port, "the web app", "WEB_PORT")
        env = dict(os.environ)
        if not settings.database_url:
            postgres = EmbeddedPostgres(data_dir / "postgres", settings.postgres_port)
            env["MIGRATION_DATABASE_URL"] = postgres.start()
            env["DATABASE_URL"] = postgres.app_url
            print(f"  PostgreSQL   127.0.0.1:{settings.postgres_port}  (data in {postgres.pgdata})")
        if not settings.temporal_address:
            temporal = TemporalDevServer(
                data_dir / "temporal.sqlite",
                settings.temporal_port,
                settings.temporal_ui_port,
                namespace=settings.temporal_namespace,
            )
            env["TEMPORAL_ADDRESS"] = temporal.start()
            print(f"  Temporal     {temporal.address}  (history in {temporal.db_file})")
        mail_catcher = catcher_for(settings.smtp_host, settings.smtp_port, data_dir)
        if mail_catcher:
            mail_catcher.start()
            mail_goes = f"kept as .eml files in {mail_catcher.directory}"
        else:
            mail_goes = f"sent through {settings.smtp_host}:{settings.smtp_port}"
        print(f"  Mail         {mail_goes}")

        effective = settings.model_copy(
            update={
                "database_url": env.get("DATABASE_URL", settings.database_url),
                "migration_database_url": env.get(
                    "MIGRATION_DATABASE_URL", settings.migration_database_url
                ),
            }
        )
        _migrate_and_seed(effective)

        for command in ("worker", "relay", "web"):
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli.main", command], env=env, start_new_session=True
                )
            )
        _wait_until_ready(settings, children, lambda: stopping)
        if not stopping:
            _print_urls(settings, mail_goes, time.monotonic() - started)
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(f"\n  a child process exited (code {child.returncode}): stopping all")
                    return 1
            time.sleep(0.5)
        print("\n  stopping…")
        return 0
    except RuntimeError as problem:
        print(f"\n  cannot start: {problem}", file=sys.stderr)
        return 1
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if mail_catcher:
            mail_catcher.stop()
        if temporal:
            temporal.stop()
        if postgres:
            postgres.stop()


def _migrate_and_seed(settings: Settings) -> None:
    prepare_database(settings.sqlalchemy_migration_url)
    if asyncio.run(seed_demo_data(settings)):
        print("  demo data loaded")


def _wait_until_ready(settings: Settings, children, stopping) -> None:
    url = f"http://127.0.0.1:{settings.web_port}/healthz"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stopping():
        if any(child.poll() is not None for child in children):
            raise RuntimeError("the worker, relay or web app exited during start-up (see above)")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    if not stopping():
        raise RuntimeError(f"{url} did not answer 200 within {READY_TIMEOUT_SECONDS} s")


def _print_urls(settings: Settings, mail_goes: str, elapsed: float) -> None:
    base = settings.base_url
    lines = [
        f"\nCloudManager is up in {elapsed:.1f} s — Ctrl-C stops everything.\n",
        f"  Customer portal   {base}/portal",
        f"  Back-office       {base}/staff",
        f"  Admin console     {base}/admin",
        f"  API docs          {base}/api/docs",
        f"  Health            {base}/healthz",
        f"  Temporal UI       {settings.temporal_ui_url}",
        f"  Outgoing mail     {mail_goes}",
    ]
    lines += ["", "  Demo logins — one per role, all with the same password:"]
    lines += [f"  {role:<17} {email}" for role, email in DEMO_LOGINS]
    lines += [
        f"  Password          {DEMO_PASSWORD}",
        f"  Staff 2FA key     {DEMO_TOTP_SECRET}  (authenticator app, or: oathtool --totp -b KEY)",
    ]
    print("\n".join(lines) + "\n", flush=True)
