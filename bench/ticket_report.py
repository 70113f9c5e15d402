"""What `python -m bench.tickets` measured, printed as tables next to the bare figures and the
goals of issue 4."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.harness import Measurement, print_table

MIB = 1024 * 1024


@dataclass(frozen=True)
class Footprint:
    """What the open tickets added, measured before and after opening `added` of them."""

    open_tickets: int
    added: int
    armed: int  # open tickets with an SLA deadline ahead in the projection
    running_workflows: int
    opening: Measurement
    server_rss: int  # Temporal dev server, resident memory
    server_files: int  # its SQLite database and write-ahead log
    database: int  # PostgreSQL, the whole database
    worker_rss: int  # the worker processes (each one's cache holds at most 1,000 runs)
    retries: int  # openings asked again after a timeout or a refused call

    def each(self, value: int) -> str:
        return f"{value / self.added / 1024:.1f} KiB" if self.added else "–"


@dataclass
class Results:
    """Filled in section by section; a section left out (`--only`) stays None."""

    bare_opens: Measurement | None = None
    opens: Measurement | None = None
    # CPU milliseconds per opening, by process (the bare's worker is the benchmark's process)
    bare_opens_cpu: dict[str, float] = field(default_factory=dict)
    opens_cpu: dict[str, float] = field(default_factory=dict)
    emails_sent: int = 0  # by the end of the openings, warm-up included (the outbox drained)
    bare_replies: Measurement | None = None
    replies: Measurement | None = None
    footprint: Footprint | None = None
    tickets_in_database: int = 0
    bare_page: Measurement | None = None
    page: Measurement | None = None
    # CPU milliseconds per page: web processes, PostgreSQL, the agents' HTTP client
    bare_page_cpu: dict[str, float] = field(default_factory=dict)
    page_cpu: dict[str, float] = field(default_factory=dict)


def report(results: Results, facts: dict[str, Any], sizes: Any) -> None:
    """Everything at the end, together (each section was also printed as it was measured)."""
    r = results
    print()
    print("  ".join(f"{key}={value}" for key, value in facts.items()))
    if r.opens:
        report_opens(r, sizes)
    if r.replies:
        report_replies(r.bare_replies, r.replies, sizes)
    if r.footprint:
        report_footprint(r.footprint)
    if r.page:
        report_pages(r, sizes)


def report_opens(r: Results, sizes: Any) -> None:
    bare, opens = r.bare_opens, r.opens
    assert bare and opens
    print(f"\n(1) opening tickets: {sizes.opens} timed at concurrency {sizes.concurrency}")
    print_table(
        ["", "per second", "p50 ms", "p99 ms"],
        [
            _row("bare engine (bench.engine)", bare),
            _row("ours: POST /api/v1/tickets", opens),
            ["ours / bare (goal ≥ 70 %)", f"{opens.per_second / bare.per_second:.0%}", "", ""],
        ],
    )
    # Where the machine's CPU goes: once it is saturated, throughput is CPU per operation.
    names = list(dict.fromkeys([*r.opens_cpu, *r.bare_opens_cpu]))
    rows = [[name, _ms(r.bare_opens_cpu.get(name)), _ms(r.opens_cpu.get(name))] for name in names]
    rows.append(["all", _ms(sum(r.bare_opens_cpu.values())), _ms(sum(r.opens_cpu.values()))])
    print_table(["CPU ms per opening", "bare", "ours"], rows)
    print(f"CPU read once the outbox had drained: {r.emails_sent} ticket emails sent by then")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def report_replies(bare: Measurement, replies: Measurement, sizes: Any) -> None:
    print(f"\n(2) updates: {sizes.replies} timed at concurrency 10 over 20 workflows")
    print_table(
        ["", "per second", "p50 ms", "p99 ms"],
        [
            _row("bare update (one no-op activity)", bare),
            _row("ours: TicketWorkflow.reply", replies),
            ["ours / bare (goal ≤ 2×)", "",
             f"{replies.latency_ms(0.5) / bare.latency_ms(0.5):.2f}×",
             f"{replies.latency_ms(0.99) / bare.latency_ms(0.99):.2f}×"],
        ],
    )  # fmt: skip


def report_footprint(f: Footprint) -> None:
    print(f"\n(3) {f.open_tickets} open tickets ({f.added} opened for this, "
          f"{f.opening.per_second:.0f}/s); {f.armed} with an SLA deadline ahead, "
          f"{f.running_workflows} TicketWorkflow runs waiting on their timers; "
          f"{f.retries} openings asked again")  # fmt: skip
    print_table(
        ["", "added", "per open ticket"],
        [
            ["Temporal server memory (RSS)", _mib(f.server_rss), f.each(f.server_rss)],
            ["Temporal server SQLite + WAL", _mib(f.server_files), f.each(f.server_files)],
            ["PostgreSQL database", _mib(f.database), f.each(f.database)],
            ["worker processes' memory (RSS)*", _mib(f.worker_rss), f.each(f.worker_rss)],
        ],
    )
    print("* bounded by each worker's cache of 1,000 runs; a run out of cache replays on its next")
    print("  timer or update, so worker memory does not grow with the number of open tickets.")


def report_pages(r: Results, sizes: Any) -> None:
    print(f"\n(4) agent queue page, {r.tickets_in_database:,} tickets in PostgreSQL, "
          f"{sizes.pages} loads per side, 10 agents at once, {sizes.web_workers} uvicorn "
          "processes per side")  # fmt: skip
    print_table(
        ["", "per second", "p50 ms", "p95 ms", "p99 ms"],
        [
            _page_row("bare FastAPI, same queries", r.bare_page),
            _page_row("ours: /staff/tickets?queue=mine", r.page),
            ["ours p95 (goal ≤ 100 ms)", "", "", f"{r.page.latency_ms(0.95):.0f}", ""],
        ],
    )
    rows = [[name, _ms(r.bare_page_cpu[name]), _ms(r.page_cpu[name])] for name in r.page_cpu]
    print_table(["CPU ms per page", "bare", "ours"], rows)


def _row(label: str, measurement: Measurement) -> list[str]:
    return [
        label,
        f"{measurement.per_second:.1f}",
        f"{measurement.latency_ms(0.5):.0f}",
        f"{measurement.latency_ms(0.99):.0f}",
    ]


def _page_row(label: str, measurement: Measurement) -> list[str]:
    return [
        label,
        f"{measurement.per_second:.1f}",
        f"{measurement.latency_ms(0.5):.0f}",
        f"{measurement.latency_ms(0.95):.0f}",
        f"{measurement.latency_ms(0.99):.0f}",
    ]


def _mib(value: int) -> str:
    return f"{value / MIB:.1f} MiB"
