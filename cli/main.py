"""`cloudmanager` console script: dev, worker, relay, web, migrate, seed, create-admin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path

from api.settings import get_settings


def _migrate(_: argparse.Namespace) -> int:
    from api.bootstrap import prepare_database

    prepare_database(get_settings().sqlalchemy_migration_url)
    print("database schema is up to date")
    return 0


def _seed(_: argparse.Namespace) -> int:
    from api.demo_data import seed_demo_data

    applied = asyncio.run(seed_demo_data(get_settings()))
    print("demo data loaded" if applied else "demo data already present")
    return 0


def _worker(_: argparse.Namespace) -> int:
    import uvloop

    from workflows.worker import run_worker

    # uvloop: the worker and the relay are mostly socket round trips (Temporal, PostgreSQL,
    # SMTP), which it makes cheaper in CPU than asyncio's own loop; uvicorn picks it up alone.
    uvloop.run(run_worker(get_settings()))
    return 0


def _relay(args: argparse.Namespace) -> int:
    import uvloop

    from cli.relay import run_relay

    uvloop.run(run_relay(get_settings(), args.heartbeat))
    return 0


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=settings.web_host,
        port=settings.web_port,
        proxy_headers=True,
        log_level="info",
        reload=args.reload,
        # uvicorn's supervisor restarts a worker that dies; with --reload there is only one.
        workers=None if args.reload else (args.workers or settings.web_workers),
    )
    return 0


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not a positive number")
    return number


def _create_admin(args: argparse.Namespace) -> int:
    from api.admin_accounts import AdminCreationError, create_first_admin

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if password is None:
        password = getpass.getpass("Password (12+ characters): ")
        if password != getpass.getpass("Password again: "):
            print("the two passwords differ", file=sys.stderr)
            return 2
    try:
        asyncio.run(create_first_admin(get_settings(), args.email, args.name, password))
    except AdminCreationError as refused:
        print(f"not created: {refused}", file=sys.stderr)
        return 2
    print(f"administrator {args.email} created; two-step verification is set up at first sign-in")
    return 0


def _dev(_: argparse.Namespace) -> int:
    from cli.dev import run_everything

    return run_everything(get_settings())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cloudmanager", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "dev", help="everything in one process tree: PostgreSQL, Temporal, worker, relay, web"
    ).set_defaults(run=_dev)
    commands.add_parser("worker", help="the Temporal worker").set_defaults(run=_worker)
    relay = commands.add_parser(
        "relay", help="the email relay: sends the emails queued in the outbox"
    )
    relay.add_argument(
        "--heartbeat", type=Path, metavar="FILE", help="touch FILE while relaying (health checks)"
    )
    relay.set_defaults(run=_relay)
    web = commands.add_parser("web", help="the web app (portal, back-office, admin, API)")
    web.add_argument("--reload", action="store_true", help="restart on code changes")
    web.add_argument(
        "--workers", type=_positive, metavar="N", help="worker processes (default: WEB_WORKERS, 1)"
    )
    web.set_defaults(run=_web)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)
    commands.add_parser("seed", help="load the demo data (once)").set_defaults(run=_seed)
    admin = commands.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True, help="full name")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin.set_defaults(run=_create_admin)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
