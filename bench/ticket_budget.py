"""`python -m bench.ticket_budget`: what one ticket opening and one reply cost, counted rather than
timed: workflow tasks, local and regular activities, child workflows and database statements
(by the activity, the email relay or the web request that sent them), so a change to the hot
path shows up as a number that moved.

Everything runs in this process: the worker with its email relay, and the web app on an
in-process ASGI transport (`POST /api/v1/tickets` as an integrator sends it), on a fresh stack
(see bench.harness); one
operation at a time, so "CPU of this process" (worker, web, SMTP sink; not the servers) is what
one operation costs, whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.api.enums.v1 import EventType

from activities.email_relay import in_relay
from api import tickets
from bench.harness import print_table, running_stack
from bench.ticket_data import prepare_desk
from db.session import create_engine, create_sessionmaker
from web.app import create_app
from workflows.ticket_messages import Author, Reply
from workflows.tickets import TicketWorkflow, workflow_id
from workflows.worker import running_worker

AGENT = Author(None, "Agent de charge", "agent")
# History events worth counting, by what they stand for.
EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow tasks",
    EventType.EVENT_TYPE_MARKER_RECORDED: "local activities",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child workflows",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attribute upserts",
}
SETTLE_SECONDS = 3.0  # background notifications (planning, emails) finish within this


class Statements:
    """Every statement any engine of this process sends, by who sent it: the activity's type
    inside an activity, else "web" (the only other caller here)."""

    def __init__(self) -> None:
        self.by_sender: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()

    @staticmethod
    def sender() -> str:
        if activity.in_activity():
            return activity.info().activity_type
        return "email relay" if in_relay() else "web"

    @contextmanager
    def listening(self):
        def on_statement(*_args) -> None:
            self.by_sender[self.sender()] += 1

        def on_commit(*_args) -> None:
            self.commits[self.sender()] += 1

        event.listen(Engine, "before_cursor_execute", on_statement)
        event.listen(Engine, "commit", on_commit)
        try:
            yield self
        finally:
            event.remove(Engine, "before_cursor_execute", on_statement)
            event.remove(Engine, "commit", on_commit)

    def take(self) -> tuple[Counter[str], Counter[str]]:
        taken = (self.by_sender.copy(), self.commits.copy())
        self.by_sender.clear()
        self.commits.clear()
        return taken


async def history_counts(client, ticket_ids: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ticket_id in ticket_ids:
        handle = client.get_workflow_handle(workflow_id(ticket_id))
        async for history_event in handle.fetch_history_events():
            label = EVENTS.get(history_event.event_type)
            if label:
                counts[label] += 1
    return counts


def report(
    title: str, count: int, cpu: float, events: Counter, statements: Counter, commits: Counter
) -> None:
    print(f"\n{title}: per operation, averaged over {count}")
    rows = [["CPU of this process, ms", f"{cpu / count * 1000:.0f}"]]
    rows += [[label, f"{events[label] / count:.1f}"] for label in EVENTS.values()]
    rows.append(["database statements (incl. pings)", f"{sum(statements.values()) / count:.1f}"])
    rows += [
        [f"  {sender}", f"{n / count:.1f} ({commits[sender] / count:.1f} commits)"]
        for sender, n in statements.most_common()
    ]
    print_table(["", "count"], rows)


async def run(stack, count: int) -> None:
    settings = stack.settings()
    # The worker's engine, as workflows.worker.run_worker makes it.
    engine = create_engine(settings.sqlalchemy_url, pre_ping=False)
    sessionmaker = create_sessionmaker(engine)
    statements = Statements()
    try:
        client = await stack.temporal_client()
        desk = await prepare_desk(sessionmaker, settings)
        app = create_app(settings)
        headers = {"Authorization": f"Bearer {desk.api_token}"}
        async with (
            running_worker(client, settings, sessionmaker),
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bench",
                              headers=headers) as http,
        ):  # fmt: skip

            async def open_one(index: int) -> str:
                response = await http.post(
                    "/api/v1/tickets",
                    json={"subject": f"Serveur {index} injoignable", "body": "Plus de ping."},
                )
                assert response.status_code == 201, response.text
                return response.json()["id"]

            await open_one(-1)  # warm-up: pools, first imports
            await asyncio.sleep(SETTLE_SECONDS)
            with statements.listening():
                began = time.process_time()
                opened = [await open_one(i) for i in range(count)]
                await asyncio.sleep(SETTLE_SECONDS)
                open_cpu = time.process_time() - began
                open_statements, open_commits = statements.take()
                open_events = await history_counts(client, opened)
                began = time.process_time()
                for index, ticket_id in enumerate(opened):
                    message = Reply(str(uuid.uuid4()), AGENT, f"Réponse {index}")
                    await tickets.update(client, ticket_id, TicketWorkflow.reply, message)
                await asyncio.sleep(SETTLE_SECONDS)
                reply_cpu = time.process_time() - began
                reply_statements, reply_commits = statements.take()
                reply_events = await history_counts(client, opened) - open_events
        report("opening (POST /api/v1/tickets)", count, open_cpu, open_events, open_statements,
               open_commits)  # fmt: skip
        report("agent reply (TicketWorkflow.reply)", count, reply_cpu, reply_events,
               reply_statements, reply_commits)  # fmt: skip
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ticket_budget", description=__doc__)
    parser.add_argument("--count", type=int, default=10, help="tickets opened, then replied to")
    args = parser.parse_args(argv)
    with running_stack() as stack:
        asyncio.run(run(stack, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
