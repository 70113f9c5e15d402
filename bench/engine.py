"""`python -m bench.engine`: how close our worker gets to what the Temporal dev server can do.

One run, one dev server, same N workflows at concurrency C, each awaited from start to result:

  (a) bare: a workflow that runs one no-op activity (bench.bare_workflow), the server's limit;
  (b) ours: `build_worker` with the real activities running OutboundEmailWorkflow, whose
      `send_email` writes an email_outbox row in PostgreSQL and delivers to an SMTP sink.

Afterwards it checks that every timed email is `sent` in the outbox and arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvloop
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.email import message_id_for
from bench.bare_workflow import BareWorkflow, noop
from bench.harness import (
    Measurement,
    SmtpSink,
    Stack,
    machine_facts,
    print_table,
    run_concurrently,
    running_stack,
    write_json,
)
from db.models import EmailOutbox
from db.session import create_engine, create_sessionmaker
from workflows.outbound_email import OutboundEmailWorkflow, SendEmail, workflow_id
from workflows.worker import build_worker

T = TypeVar("T")

WARMUP_WORKFLOWS = 10
# Warm-up and timed workflows are told apart by these batch names in their ids and email keys.
WARMUP_BATCH = "warmup"
TIMED_BATCH = "timed"
# Distinct queues so that neither worker ever sees the other's tasks.
BARE_QUEUE = "bench-bare"
OURS_QUEUE = "bench-ours"


class PhaseTimeout(RuntimeError):
    pass


@dataclass(frozen=True)
class Check:
    name: str
    found: str
    ok: bool


def phase_deadline(workflows: int) -> float:
    """Generous (assumes ≥ 10 workflows/s) but finite: a stuck retry must not hang the run."""
    return 20 + workflows / 10


async def bounded(label: str, seconds: float, work: Coroutine[Any, Any, T]) -> T:
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        raise PhaseTimeout(f"{label} did not finish within {seconds:.0f} s") from None


async def warm_then_time(
    run_one: Callable[[str, int], Awaitable[object]], workflows: int, concurrency: int
) -> Measurement:
    """Warm-up first (worker pollers, sandbox imports, pools), in a batch of its own, untimed."""
    await run_concurrently(lambda i: run_one(WARMUP_BATCH, i), WARMUP_WORKFLOWS, concurrency)
    return await run_concurrently(lambda i: run_one(TIMED_BATCH, i), workflows, concurrency)


# -- (a) bare -------------------------------------------------------------------------------------


async def measure_bare(client: Client, workflows: int, concurrency: int) -> Measurement:
    async def run_one(batch: str, index: int) -> None:
        await client.execute_workflow(
            BareWorkflow.run, str(index), id=f"bare-{batch}-{index}", task_queue=BARE_QUEUE
        )

    # Worker defaults, like build_worker: the two phases differ only by workflow and activity.
    async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareWorkflow], activities=[noop]):
        return await warm_then_time(run_one, workflows, concurrency)


# -- (b) ours -------------------------------------------------------------------------------------


def email_key(batch: str, index: int | str) -> str:
    return f"bench-{batch}-{index}"


def email_request(batch: str, index: int) -> SendEmail:
    return SendEmail(
        idempotency_key=email_key(batch, index),
        to=f"customer{index}@{batch}.bench.invalid",
        template="test_message",
        context={"sender": "bench.engine"},
    )


async def measure_ours(
    client: Client, stack: Stack, workflows: int, concurrency: int
) -> tuple[Measurement, list[Check]]:
    settings = stack.settings()
    engine = create_engine(settings.sqlalchemy_url)

    async def run_one(batch: str, index: int) -> None:
        request = email_request(batch, index)
        await client.execute_workflow(
            OutboundEmailWorkflow.run,
            request,
            id=workflow_id(request.idempotency_key),
            task_queue=OURS_QUEUE,
        )

    try:
        worker = build_worker(client, settings, create_sessionmaker(engine), task_queue=OURS_QUEUE)
        async with worker:
            measurement = await warm_then_time(run_one, workflows, concurrency)
        return measurement, [
            await check_outbox(engine, workflows),
            check_sink(stack.sink, settings.mail_domain, workflows),
        ]
    finally:
        await engine.dispose()


async def check_outbox(engine: AsyncEngine, workflows: int) -> Check:
    """The timed batch only: the warm-up's rows are in the same table."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(EmailOutbox.status, func.count())
            .where(EmailOutbox.idempotency_key.like(email_key(TIMED_BATCH, "%")))
            .group_by(EmailOutbox.status)
        )
        by_status = {str(status): count for status, count in rows}
    found = ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
    return Check("outbox rows 'sent'", found or "none", by_status == {"sent": workflows})


def check_sink(sink: SmtpSink, mail_domain: str, workflows: int) -> Check:
    """Exactly once: each timed Message-ID arrived, none twice (a bare count would hide that)."""
    expected = {message_id_for(email_key(TIMED_BATCH, i), mail_domain) for i in range(workflows)}
    received = [message_id for message_id in sink.message_ids if message_id in expected]
    distinct = len(set(received))
    found = f"{len(received)} messages, {distinct} distinct"
    return Check("SMTP sink messages", found, len(received) == distinct == workflows)


# -- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    bare: Measurement
    ours: Measurement
    checks: list[Check]


async def run_both(stack: Stack, workflows: int, concurrency: int) -> Results:
    client = await stack.temporal_client()
    deadline = phase_deadline(workflows)
    # (a) then (b). Order matters little: each phase has a fresh task queue, its own worker and
    # its own warm-up; all (b) inherits is (a)'s finished histories in the server's SQLite file.
    print(f"(a) bare: {WARMUP_WORKFLOWS} warm-up, then {workflows} timed…", flush=True)
    bare = await bounded("(a) bare", deadline, measure_bare(client, workflows, concurrency))
    print(f"(b) ours: {WARMUP_WORKFLOWS} warm-up, then {workflows} timed…", flush=True)
    ours, checks = await bounded(
        "(b) ours", deadline, measure_ours(client, stack, workflows, concurrency)
    )
    return Results(bare, ours, checks)


def report(results: Results, facts: dict[str, Any], workflows: int, concurrency: int) -> None:
    bare, ours = results.bare, results.ours
    print()
    print("  ".join(f"{key}={value}" for key, value in facts.items()))
    print(f"{workflows} workflows per phase, concurrency {concurrency}, start→result latency\n")
    print_table(
        ["", "workflows/s", "p50 ms", "p99 ms", "wall s", "CPU ms/wf*"],
        [
            _row("(a) bare Temporal", bare),
            _row("(b) ours: OutboundEmail", ours),
            [
                "ours / bare",
                f"{ours.per_second / bare.per_second:.2f}×",
                f"{ours.latency_ms(0.5) / bare.latency_ms(0.5):.2f}×",
                f"{ours.latency_ms(0.99) / bare.latency_ms(0.99):.2f}×",
                f"{ours.seconds / bare.seconds:.2f}×",
                f"{ours.cpu_ms_each / bare.cpu_ms_each:.2f}×",
            ],
        ],
    )
    print("* CPU of this Python process (client, worker, SMTP sink) per workflow; the dev server,")
    print("  PostgreSQL and the CPU they take are not counted.\n")
    for check in results.checks:
        verdict = "OK" if check.ok else "FAILED"
        print(f"check: {check.name:<20} expected {workflows:>6}: {check.found:<28} {verdict}")


def _row(label: str, measurement: Measurement) -> list[str]:
    return [
        label,
        f"{measurement.per_second:.1f}",
        f"{measurement.latency_ms(0.5):.0f}",
        f"{measurement.latency_ms(0.99):.0f}",
        f"{measurement.seconds:.2f}",
        f"{measurement.cpu_ms_each:.1f}",
    ]


def as_json(
    results: Results, facts: dict[str, Any], workflows: int, concurrency: int
) -> dict[str, Any]:
    return {
        "machine": facts,
        "workflows": workflows,
        "concurrency": concurrency,
        "warmup_workflows": WARMUP_WORKFLOWS,
        "bare": results.bare.as_dict(),
        "ours": results.ours.as_dict(),
        "ratio_throughput": round(results.ours.per_second / results.bare.per_second, 3),
        "checks": [asdict(check) for check in results.checks],
    }


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workflows", type=positive_int, default=500, metavar="N")
    parser.add_argument("--concurrency", type=positive_int, default=50, metavar="C")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts()
    # `kill` or a CI timeout sends SIGTERM: turn it into Ctrl-C, which asyncio.run handles
    # cleanly (it cancels the main task; an exception raised at a random point could hang it).
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        with running_stack() as stack:
            # On uvloop, as `cloudmanager worker` runs: the bare worker gets the same loop.
            results = uvloop.run(run_both(stack, args.workflows, args.concurrency))
    except KeyboardInterrupt:
        print("\ninterrupted: everything the benchmark started has been stopped", file=sys.stderr)
        return 130
    except PhaseTimeout as timeout:
        print(f"\n{timeout}: the stack has been stopped", file=sys.stderr)
        return 1
    report(results, facts, args.workflows, args.concurrency)
    if args.json:
        write_json(args.json, as_json(results, facts, args.workflows, args.concurrency))
        print(f"\nresults written to {args.json}")
    return 0 if all(check.ok for check in results.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
