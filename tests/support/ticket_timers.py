"""TicketWorkflow on the time-skipping test server, for the SLA and automation timer tests: the
application's own workflows and activities (real PostgreSQL, real SMTP sink) on a queue of the
test's own, and days that pass in a blink.

What works there (temporalio 1.35 with temporal-test-server 1.40): starting, signals, queries and
updates (`execute_update`) all do; `env.sleep()` moves the clock. Two things to know: the custom
search attributes must be registered with the test server first (`register_search_attributes`),
or every upsert fails the workflow task; and update-with-start is not used here, so tickets are
opened with a start followed by the `opened` update.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.models import EmailOutbox, EmailStatus, Ticket, TicketEvent
from workflows import search_attributes
from workflows.ticket_messages import OpenTicket, TicketView
from workflows.tickets import TicketWorkflow, workflow_id
from workflows.worker import WORKFLOWS, build_activities, email_relay

ALGIERS = ZoneInfo("Africa/Algiers")
_registered: set[int] = set()


async def register_search_attributes(client: Client) -> None:
    if id(client) in _registered:
        return
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                for key in search_attributes.ALL
            },
        )
    )
    _registered.add(id(client))


def next_local(after: datetime, weekday: int, at: time) -> datetime:
    """The first `weekday` (date.weekday() numbering) at local time `at` in Algiers, a week or
    more after `after`, as UTC: every test starts on a fresh week of the shared test clock."""
    day = after.astimezone(ALGIERS).date() + timedelta(days=7)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=ALGIERS).astimezone(UTC)


def local(instant: datetime, days: int, at: time) -> datetime:
    """`days` after `instant`'s local date, at local time `at`, as UTC."""
    day = instant.astimezone(ALGIERS).date() + timedelta(days=days)
    return datetime.combine(day, at, tzinfo=ALGIERS).astimezone(UTC)


class TicketClock:
    """One test's tickets on the time-skipping server. Use `async with`."""

    def __init__(self, env: WorkflowEnvironment, settings, sessionmaker) -> None:
        self.env = env
        self.client = env.client
        self.sessionmaker = sessionmaker
        self.queue = f"tickets-{uuid.uuid4().hex[:8]}"
        self._worker = Worker(
            self.client, task_queue=self.queue, workflows=list(WORKFLOWS),
            activities=build_activities(settings, sessionmaker),
        )  # fmt: skip
        # The relay runs on the wall clock: what the workflows queue leaves at once.
        self._relay = email_relay(settings, sessionmaker)
        self._handles: list[WorkflowHandle] = []

    async def __aenter__(self) -> TicketClock:
        await register_search_attributes(self.client)
        await self._relay.__aenter__()
        await self._worker.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        # Timers of this test's tickets must not fire into later tests once its worker is gone.
        for handle in self._handles:
            with contextlib.suppress(RPCError):  # already finished
                await handle.terminate("test over")
        await self._worker.__aexit__(*exc)
        await self._relay.__aexit__(*exc)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def sleep_until(self, instant: datetime) -> None:
        now = await self.now()
        assert instant >= now, f"{instant} is in the past of the test clock ({now})"
        await self.env.sleep(instant - now)
        await self.settle()

    async def settle(self, within: float = 20) -> None:
        """Wait until this test's tickets have nothing in flight (timers fired, their writes
        done and the emails these queued sent), so the database and the SMTP sink say what the
        workflows decided."""
        deadline = asyncio.get_running_loop().time() + within
        for handle in self._handles:
            while True:
                raw = (await handle.describe()).raw_description
                busy = raw.pending_activities or raw.HasField("pending_workflow_task")
                if not busy:
                    break
                assert asyncio.get_running_loop().time() < deadline, "the ticket never settled"
                await asyncio.sleep(0.05)
        # What the writes queued leaves through the relay, after them.
        while await self._emails_on_their_way():
            assert asyncio.get_running_loop().time() < deadline, "the emails never left"
            await asyncio.sleep(0.05)

    async def _emails_on_their_way(self) -> bool:
        ticket_ids = [handle.id.removeprefix("ticket-") for handle in self._handles]
        async with self.sessionmaker() as db:
            waiting = await db.scalar(
                select(EmailOutbox.id)
                .where(
                    EmailOutbox.subject_id.in_(ticket_ids),
                    EmailOutbox.status.in_([EmailStatus.PENDING, EmailStatus.SENDING]),
                )
                .limit(1)
            )
        return waiting is not None

    async def open(self, request: OpenTicket) -> WorkflowHandle:
        handle = await self.client.start_workflow(
            TicketWorkflow.run, args=[request, None], id=workflow_id(request.ticket_id),
            task_queue=self.queue,
        )  # fmt: skip
        self._handles.append(handle)
        await handle.execute_update(TicketWorkflow.opened)
        await self.settle()
        return handle

    async def update(self, handle: WorkflowHandle, method, message) -> TicketView:
        view = await handle.execute_update(method, message, id=message.request_id)
        await self.settle()
        return view

    async def row(self, handle: WorkflowHandle) -> Ticket:
        async with self.sessionmaker() as db:
            return await db.get(Ticket, uuid.UUID(handle.id.removeprefix("ticket-")))

    async def timeline(self, handle: WorkflowHandle) -> list[TicketEvent]:
        ticket_id = uuid.UUID(handle.id.removeprefix("ticket-"))
        async with self.sessionmaker() as db:
            events = await db.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.created_at, TicketEvent.kind)
            )
            return list(events)

    async def kinds(self, handle: WorkflowHandle) -> list[str]:
        return [event.kind for event in await self.timeline(handle)]


def to_minute(instant: datetime | None) -> datetime | None:
    """The test clock runs on while a test acts (milliseconds either way): compare instants to
    the nearest minute."""
    if instant is None:
        return None
    return (instant + timedelta(seconds=30)).replace(second=0, microsecond=0)
