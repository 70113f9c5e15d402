"""`python -m bench.tickets`: the helpdesk under load, each figure next to its bare limit, in one
run on one stack (embedded PostgreSQL, Temporal dev server, SMTP sink; see bench.harness):

  (1) tickets opened through the JSON API (`POST /api/v1/tickets`, the web app in its own
      uvicorn processes, one per CPU as `cloudmanager web --workers N`, the workers in theirs:
      `cloudmanager worker` once per CPU, as `--scale worker=N` deploys it, and one
      `cloudmanager relay`) per second, next to bench.engine's bare figure (start → one no-op
      activity → result) measured in the same run; goal ≥ 70 %;
  (2) a reply (`TicketWorkflow.reply` through api.tickets.update) p50/p99, next to a bare update
      running one no-op activity (bench.bare_update); goal ≤ 2×;
  (3) memory and database bytes per open ticket with armed SLA timers, once N tickets are open;
  (4) the agent queue page (/staff/tickets, "mine") p95 at 10 concurrent signed-in agents with a
      million tickets in the database, next to a bare FastAPI page running the same queries
      (bench.bare_queue) in as many uvicorn processes; goal ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import uvloop
from sqlalchemy import func, select, text
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError
from temporalio.worker import Worker

from api import tickets
from bench.bare_update import BareUpdateWorkflow
from bench.bare_workflow import noop
from bench.engine import WARMUP_WORKFLOWS as WARMUP_BARE
from bench.engine import measure_bare
from bench.harness import Measurement, Stack, machine_facts, run_concurrently, running_stack
from bench.ticket_data import Desk, insert_history, prepare_desk, sign_in_agents
from bench.ticket_report import (
    Footprint,
    Results,
    report,
    report_footprint,
    report_opens,
    report_replies,
)
from bench.web_processes import (
    CpuMeter,
    WebProcess,
    app_environment,
    files_bytes,
    pid_with_argument,
    relay_process,
    rss_bytes,
    uvicorn_process,
    with_children,
    worker_processes,
)
from db.models import EmailOutbox, EmailStatus, Ticket
from db.session import create_engine, create_sessionmaker
from workflows.ticket_messages import Author, OpenTicket, Reply
from workflows.tickets import TicketWorkflow

WARMUP = 10
OPEN_ATTEMPTS = 4  # footprint: a ticket whose opening timed out is asked again, this often
REPLY_TICKETS = 20
BARE_UPDATE_QUEUE = "bench-bare-update"
CUSTOMER = Author(None, "Client de charge", "customer")
AGENT = Author(None, "Agent de charge", "agent")


async def warm_then_time(operation, count: int, concurrency: int) -> Measurement:
    await run_concurrently(lambda i: operation(-1 - i), WARMUP, concurrency)
    return await run_concurrently(operation, count, concurrency)


# -- (1) opening through the HTTP API -------------------------------------------------------------


async def measure_http_opens(
    web_url: str, desk: Desk, count: int, concurrency: int
) -> tuple[Measurement, list[str]]:
    opened: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {desk.api_token}"}
    async with httpx.AsyncClient(base_url=web_url, headers=headers, limits=limits,
                                 timeout=60) as http:  # fmt: skip

        async def open_one(index: int) -> None:
            response = await http.post(
                "/api/v1/tickets",
                json={"subject": f"Serveur {index} injoignable", "body": "Plus de ping."},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            if response.status_code != 201:
                raise RuntimeError(f"POST /api/v1/tickets: {response.status_code} {response.text}")
            opened.append(response.json()["id"])

        measurement = await warm_then_time(open_one, count, concurrency)
    return measurement, opened


async def outbox_drained(sessionmaker, within: float = 60) -> int:
    """Wait until no email waits to be sent; how many have been sent so far."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with sessionmaker() as db:
            counts = dict(
                (await db.execute(select(EmailOutbox.status, func.count()).group_by(
                    EmailOutbox.status))).all()
            )  # fmt: skip
        if not counts.get(EmailStatus.PENDING) and not counts.get(EmailStatus.SENDING):
            return counts.get(EmailStatus.SENT, 0)
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"the outbox did not drain within {within:.0f} s: {counts}")
        await asyncio.sleep(0.1)


# -- (2) replies ----------------------------------------------------------------------------------


async def measure_replies(
    client: Client, ticket_ids: list[str], count: int, concurrency: int
) -> Measurement:
    async def reply(index: int) -> None:
        author = AGENT if index % 2 else CUSTOMER
        message = Reply(str(uuid.uuid4()), author, f"Réponse {index}")
        ticket_id = ticket_ids[index % len(ticket_ids)]
        await tickets.update(client, ticket_id, TicketWorkflow.reply, message)

    return await warm_then_time(reply, count, concurrency)


async def measure_bare_updates(client: Client, count: int, concurrency: int) -> Measurement:
    async with Worker(client, task_queue=BARE_UPDATE_QUEUE, workflows=[BareUpdateWorkflow],
                      activities=[noop]):  # fmt: skip
        handles = [
            await client.start_workflow(
                BareUpdateWorkflow.run, id=f"bare-update-{i}", task_queue=BARE_UPDATE_QUEUE
            )
            for i in range(REPLY_TICKETS)
        ]

        async def touch(index: int) -> None:
            await handles[index % len(handles)].execute_update(BareUpdateWorkflow.touch, "x")

        measurement = await warm_then_time(touch, count, concurrency)
        for handle in handles:
            await handle.signal(BareUpdateWorkflow.finish)
    return measurement


# -- (3) what an open ticket costs ----------------------------------------------------------------


async def measure_footprint(
    client: Client, stack: Stack, sessionmaker, desk: Desk, target: int, concurrency: int,
    workers: list[int],
) -> Footprint:  # fmt: skip
    settings = stack.settings()
    sqlite = stack.workdir / "temporal.sqlite"
    server_files = [sqlite, sqlite.with_name("temporal.sqlite-wal")]
    server_pid = pid_with_argument(str(sqlite))
    assert server_pid, "the Temporal dev server's process was not found"

    async def database_bytes() -> int:
        async with sessionmaker() as db:
            return await db.scalar(select(func.pg_database_size(func.current_database())))

    async def open_tickets() -> int:
        async with sessionmaker() as db:
            return await db.scalar(
                select(func.count()).select_from(Ticket)
                .where(Ticket.status.not_in(["resolved", "closed"]))
            )  # fmt: skip

    before = (rss_bytes(server_pid), files_bytes(*server_files), await database_bytes(),
              sum(map(rss_bytes, workers)), await open_tickets())  # fmt: skip

    retries = 0

    async def open_one(index: int) -> None:
        nonlocal retries
        request = OpenTicket(
            ticket_id=str(uuid.uuid4()), subject=f"Disque plein {index}", body="Alerte disque.",
            customer_id=str(desk.customer_id), requester=CUSTOMER, channel="api",
            group_id=str(desk.quiet_group_id),
        )  # fmt: skip
        for attempt in range(OPEN_ATTEMPTS):
            try:
                await tickets.open_ticket(client, settings, request)
                return
            except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
                # Under this sustained overload a ticket's first workflow task can time out;
                # the same request opens the same ticket once, so it is asked again (and counted).
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
                retries += 1
                await asyncio.sleep(2**attempt)

    added = max(0, target - before[-1])
    opening = await run_concurrently(open_one, added, concurrency)
    await asyncio.sleep(5)  # the acknowledgements and assignment emails settle
    after = (rss_bytes(server_pid), files_bytes(*server_files), await database_bytes(),
             sum(map(rss_bytes, workers)), await open_tickets())  # fmt: skip
    async with sessionmaker() as db:
        armed = await db.scalar(
            select(func.count()).select_from(Ticket).where(
                Ticket.status.not_in(["resolved", "closed"]), Ticket.first_response_due.is_not(None)
            )
        )  # fmt: skip
    running = (await client.count_workflows(
        "WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running'"
    )).count  # fmt: skip
    return Footprint(
        open_tickets=after[-1], added=added, armed=armed, running_workflows=running,
        opening=opening, server_rss=after[0] - before[0], server_files=after[1] - before[1],
        database=after[2] - before[2], worker_rss=after[3] - before[3], retries=retries,
    )  # fmt: skip


# -- (4) the agent queue page ---------------------------------------------------------------------


async def measure_pages(
    base_url: str, path: str, signed_in: list[tuple[uuid.UUID, str]], count: int, *, cookies: bool
) -> Measurement:
    users = []
    for agent_id, session in signed_in:
        users.append(httpx.AsyncClient(
            base_url=base_url, timeout=60, cookies={"cm_session": session} if cookies else None,
            params=None if cookies else {"viewer": str(agent_id)},
        ))  # fmt: skip
    try:

        async def load(index: int) -> None:
            response = await users[index % len(users)].get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code}")

        return await warm_then_time(load, count, len(users))
    finally:
        for user in users:
            await user.aclose()


# -- the run --------------------------------------------------------------------------------------


SECTIONS = ("opens", "replies", "footprint", "pages")


@dataclass(frozen=True)
class Sizes:
    opens: int
    concurrency: int
    replies: int
    open_tickets: int
    history: int
    pages: int
    workers: int
    web_workers: int
    # The sections to run, in SECTIONS order; replies need opens (they answer opened tickets).
    only: tuple[str, ...] = SECTIONS


async def run(stack: Stack, sizes: Sizes) -> Results:
    settings = stack.settings()
    # The benchmark's own reads (desk, counts, sizes) and section (3)'s direct openings.
    engine = create_engine(settings.sqlalchemy_url, pool_size=20, pre_ping=False)
    sessionmaker = create_sessionmaker(engine)
    results = Results()
    try:
        client = await stack.temporal_client()
        desk = await prepare_desk(sessionmaker, settings)
        # The bare figures first, on a quiet stack: our phases leave emails being sent behind
        # them, which a bare phase measured afterwards would pay for.
        if "opens" in sizes.only:
            print(f"(1) bare engine: {sizes.opens} workflows…", flush=True)
            # The bare workflow's worker runs in this process.
            meter = CpuMeter(servers(stack) | {"worker processes": lambda: [os.getpid()]})
            results.bare_opens = await measure_bare(client, sizes.opens, sizes.concurrency)
            results.bare_opens_cpu = meter.per_operation(WARMUP_BARE + sizes.opens)
        if "replies" in sizes.only:
            print(f"(2) bare: {sizes.replies} updates…", flush=True)
            results.bare_replies = await measure_bare_updates(client, sizes.replies, 10)
        log = stack.workdir / "web.log"
        environment = app_environment(settings)
        async with (
            worker_processes(client, settings, environment, stack.workdir / "worker.log",
                             sizes.workers) as workers,
            relay_process(environment, stack.workdir / "relay.log") as relay,
        ):  # fmt: skip
            with uvicorn_process("web.app:create_app", environment, log,
                                 sizes.web_workers) as web:  # fmt: skip
                if "opens" in sizes.only:
                    processes = servers(stack) | {
                        "worker processes": lambda: workers, "email relay": lambda: [relay],
                        "web processes": web.pids,
                    }  # fmt: skip
                    await run_opens_and_replies(client, web.url, desk, sizes, results,
                                                processes, sessionmaker)  # fmt: skip
                if "footprint" in sizes.only:
                    print(f"(3) opening tickets up to {sizes.open_tickets} open…", flush=True)
                    results.footprint = await measure_footprint(
                        client, stack, sessionmaker, desk, sizes.open_tickets, sizes.concurrency,
                        workers,
                    )  # fmt: skip
                    report_footprint(results.footprint)
                if "pages" in sizes.only:
                    await run_pages(stack, web, log, sessionmaker, desk, sizes, results)
        return results
    finally:
        await engine.dispose()


async def run_opens_and_replies(
    client: Client, web: str, desk: Desk, sizes: Sizes, results: Results,
    processes: dict[str, Callable[[], list[int]]], sessionmaker,
) -> None:  # fmt: skip
    print(f"(1) ours: {sizes.opens} tickets through POST /api/v1/tickets…", flush=True)
    meter = CpuMeter(processes)
    results.opens, opened = await measure_http_opens(web, desk, sizes.opens, sizes.concurrency)
    # The CPU of an opening includes what follows its answer (the SLA write, the emails): read
    # once the outbox holds nothing more to send.
    results.emails_sent = await outbox_drained(sessionmaker)
    results.opens_cpu = meter.per_operation(WARMUP + sizes.opens)
    report_opens(results, sizes)
    if "replies" in sizes.only:
        print(f"(2) ours: {sizes.replies} replies…", flush=True)
        results.replies = await measure_replies(client, opened[:REPLY_TICKETS], sizes.replies, 10)
        report_replies(results.bare_replies, results.replies, sizes)


async def run_pages(
    stack: Stack, web: WebProcess, log, sessionmaker, desk: Desk, sizes: Sizes, results: Results
) -> None:
    settings = stack.settings()
    async with sessionmaker() as db:
        present = await db.scalar(text("SELECT count(*) FROM tickets"))
    history = max(0, sizes.history - present)
    print(f"(4) {history} tickets of history in one INSERT…", flush=True)
    await insert_history(sessionmaker, desk, history)
    results.tickets_in_database = present + history
    bare_env = {"BENCH_DATABASE_URL": settings.sqlalchemy_url}
    with uvicorn_process("bench.bare_queue:create_app", bare_env, log, sizes.web_workers) as bare:
        print(f"(4) {sizes.pages} queue pages each, 10 agents at once…", flush=True)
        agents = await sign_in_agents(sessionmaker, settings, desk)
        postgres = servers(stack)["PostgreSQL"]

        async def side(server: WebProcess, path: str, cookies: bool):
            # The agents' HTTP client (this process) shares the machine: its share is printed too.
            meter = CpuMeter({"web processes": server.pids, "PostgreSQL": postgres,
                              "agents' HTTP client": lambda: [os.getpid()]})  # fmt: skip
            timed = await measure_pages(server.url, path, agents, sizes.pages, cookies=cookies)
            return timed, meter.per_operation(WARMUP + sizes.pages)

        results.page, results.page_cpu = await side(web, "/staff/tickets?queue=mine", True)
        results.bare_page, results.bare_page_cpu = await side(bare, "/queue?queue=mine", False)


def servers(stack: Stack) -> dict[str, Callable[[], list[int]]]:
    """The processes every phase shares: the Temporal dev server, PostgreSQL and its backends."""
    temporal = pid_with_argument(str(stack.workdir / "temporal.sqlite"))
    postgres = pid_with_argument(str(stack.workdir / "postgres" / "pgdata"))
    assert temporal and postgres, "the servers' processes were not found"
    return {
        "Temporal dev server": lambda: [temporal],
        "PostgreSQL": lambda: with_children(postgres),
    }


def parse_args(argv: list[str] | None) -> Sizes:
    parser = argparse.ArgumentParser(prog="python -m bench.tickets", description=__doc__)
    parser.add_argument("--opens", type=int, default=500, help="tickets opened over HTTP, timed")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--replies", type=int, default=400)
    parser.add_argument("--open-tickets", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=1_000_000, help="tickets inserted in SQL")
    parser.add_argument("--pages", type=int, default=2000, help="queue pages per side, timed")
    parser.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)),
        help="`cloudmanager worker` processes, as deployed with --scale worker=N (default: one "
        "per CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--web-workers", type=int, default=len(os.sched_getaffinity(0)),
        help="uvicorn processes of the web app and of the bare page, as `cloudmanager web "
        "--workers N` (default: one per CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--only", type=sections, default=SECTIONS, metavar="SECTION,…",
        help=f"run only these sections, comma-separated, of {', '.join(SECTIONS)} "
        "(replies needs opens); all by default",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return Sizes(args.opens, args.concurrency, args.replies, args.open_tickets, args.history,
                 args.pages, args.workers, args.web_workers, args.only)  # fmt: skip


def sections(text: str) -> tuple[str, ...]:
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - set(SECTIONS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s): {', '.join(sorted(unknown))}")
    if "replies" in chosen and "opens" not in chosen:
        raise argparse.ArgumentTypeError("replies answer the tickets opens opened: add opens")
    return tuple(name for name in SECTIONS if name in chosen)


def main(argv: list[str] | None = None) -> int:
    sizes = parse_args(argv)
    facts = machine_facts()
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        with running_stack() as stack:
            # On uvloop, as `cloudmanager worker` runs: the bare workers here (the engine's,
            # the update's) get the same loop as ours.
            results = uvloop.run(run(stack, sizes))
    except KeyboardInterrupt:
        print("\ninterrupted: everything the benchmark started has been stopped", file=sys.stderr)
        return 130
    report(results, facts, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
