"""The email relay: sends the emails other transactions queued in the outbox.

A ticket's notifications are planned and queued in the local activity that records the change
(`EmailActivities.queue(..., for_relay=True)`), so they commit with it or not at all, and leave
through this relay rather than through a `send_email` activity each: an activity per email cost
the Temporal server three history events, a task and one more workflow task per email, and the
worker an activity execution — as much as the rest of a ticket's opening (bench.ticket_budget).
The outbox row is the durable record, so the relay keeps nothing itself: it runs in a process of
its own (`cloudmanager relay`, so that building and sending emails never holds a worker's event
loop), as many as wanted, and they share the rows through a lease.

Woken by PostgreSQL's NOTIFY on `RELAY_CHANNEL`, which the queuing transaction sends as it
commits; a sweep every few seconds catches retries falling due and whatever was queued while
no relay listened. Retries follow the `send_email` activity's policy (activity_options.EMAIL):
from 10 s, doubling, at most an hour apart, for two days; a permanent refusal fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.email import RELAY_CHANNEL, Attempt, EmailActivities
from db.models import EmailOutbox, EmailStatus

log = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(days=2)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
# A relay takes rows for this long: another relay leaves them alone meanwhile, and takes them
# over if it passes (the first relay died). A row still `sending` then was handed to the SMTP
# server by an attempt that never confirmed: it is settled as sent, never sent twice.
LEASE = timedelta(minutes=5)
BATCH = 50
# SMTP connections at once per relay, each carrying its share of a batch in turn: enough to hide
# the server's latency, few enough not to look like a flood to it.
CONVERSATIONS = 4
# Rows one connection carries before the batch opens another: a connection's set-up (connect,
# EHLO, QUIT) costs about what sending two or three messages over it does.
PER_CONVERSATION = 10
# After a NOTIFY, the relay waits this long before taking the due rows, so that under load one
# pass (one lease, one connection, one recording of the deliveries) carries the emails of several
# transactions instead of one each; no one notices an email leaving 0.1 s later.
GATHER_SECONDS = 0.1
SWEEP_SECONDS = 5.0
# After the database connection is lost: wait this long before listening again.
RECONNECT_SECONDS = 2.0
# On the way out, the batch being sent may finish for this long: an email cut off after its row
# was claimed would be settled as sent without having been.
DRAIN_SECONDS = 10.0

RELAYED = (EmailStatus.PENDING, EmailStatus.DEFERRED, EmailStatus.SENDING)

# True in the relay's tasks, so measurements can tell its database statements from the web's.
_relaying = contextvars.ContextVar("relaying", default=False)


def in_relay() -> bool:
    return _relaying.get()


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt (1-based)."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


class EmailRelay:
    """Use `async with EmailRelay(...)`: it relays in the background until the block ends, then
    lets the batch in hand finish (at most DRAIN_SECONDS)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        emails: EmailActivities,
        *,
        sweep_seconds: float = SWEEP_SECONDS,
        heartbeat: Path | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._emails = emails
        self._sweep_seconds = sweep_seconds
        # Touched after every pass (so at least every sweep) for a health check: a relay that is
        # stuck, or cannot reach the database, lets it go stale.
        self._heartbeat = heartbeat
        self._woken = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EmailRelay:
        self._task = asyncio.create_task(self._run(), name="email relay")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is None:
            return
        self._stopping = True
        self._woken.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            # wait_for cancels the task when the drain takes too long.
            await asyncio.wait_for(self._task, DRAIN_SECONDS)

    async def relay_due(self) -> int:
        """Send every queued email that is due now; how many rows were tried."""
        tried = 0
        while not self._stopping and (rows := await self._take_due()):
            tried += len(rows)
            conversations = min(CONVERSATIONS, -(-len(rows) // PER_CONVERSATION))
            shares = [rows[i::conversations] for i in range(conversations)]
            await asyncio.gather(*(self._relay(share) for share in shares))
            if len(rows) < BATCH:
                break
        return tried

    async def _run(self) -> None:
        _relaying.set(True)
        while not self._stopping:
            try:
                await self._listen_and_relay()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away, most likely: listen again
                log.warning("email relay interrupted; listening again", exc_info=True)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_and_relay(self) -> None:
        engine: AsyncEngine = self._sessionmaker.kw["bind"]
        async with engine.connect() as connection:
            listening = (await connection.get_raw_connection()).driver_connection
            await listening.add_listener(RELAY_CHANNEL, self._wake)
            try:
                # A listening connection the server closed (a restart) hears nothing more:
                # listen again on a new one.
                while not self._stopping and not listening.is_closed():
                    self._woken.clear()  # a NOTIFY from here on wakes the next wait
                    await self.relay_due()
                    if self._heartbeat is not None:
                        self._heartbeat.touch()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._woken.wait(), self._sweep_seconds)
                        await asyncio.sleep(GATHER_SECONDS)
            finally:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await listening.remove_listener(RELAY_CHANNEL, self._wake)

    def _wake(self, *_notification: object) -> None:
        self._woken.set()

    async def _take_due(self) -> list[EmailOutbox]:
        """Lease the next due rows to this relay, oldest first; rows another relay holds are
        skipped, not waited for."""
        due = (
            select(EmailOutbox.id)
            .where(
                EmailOutbox.next_attempt_at.is_not(None),
                EmailOutbox.status.in_(RELAYED),
                EmailOutbox.next_attempt_at <= datetime.now(UTC),
            )
            .order_by(EmailOutbox.next_attempt_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        async with self._sessionmaker() as session, session.begin():
            leased = await session.scalars(
                update(EmailOutbox)
                .where(EmailOutbox.id.in_(due.scalar_subquery()))
                .values(next_attempt_at=datetime.now(UTC) + LEASE)
                .returning(EmailOutbox)
            )
            # RETURNING comes in the table's order, not the subquery's: oldest first again.
            return sorted(leased, key=lambda row: row.created_at)

    async def _relay(self, rows: list[EmailOutbox]) -> None:
        """Send these rows over one SMTP connection, in turn; their deliveries are recorded
        together at the end (until then they are `sending`, which is never sent twice)."""
        sent: list[EmailOutbox] = []
        async with self._emails.conversation() as smtp:
            for row in rows:
                if row.status == EmailStatus.SENDING:
                    await self._emails.settle_unconfirmed(row)
                    continue
                attempt = await smtp.send(row)
                if attempt.outcome == "sent":
                    sent.append(row)
                elif attempt.outcome != "taken":
                    await self._record_failure(row, attempt)
        await self._emails.mark_sent(sent)

    async def _record_failure(self, row: EmailOutbox, attempt: Attempt) -> None:
        if attempt.outcome == "refused":
            await self._emails.set_failure(
                row, EmailStatus.FAILED, attempt.reason, claimed=attempt.claimed
            )
            return
        now = datetime.now(UTC)
        wait = retry_delay(row.attempts + 1)
        if now + wait - row.created_at > RETRY_WINDOW:
            reason = f"still deferred when the retry window closed; last error: {attempt.reason}"
            await self._emails.set_failure(row, EmailStatus.FAILED, reason,
                                           claimed=attempt.claimed)  # fmt: skip
            return
        await self._emails.set_failure(
            row, EmailStatus.DEFERRED, attempt.reason, claimed=attempt.claimed,
            next_attempt_at=now + wait,
        )  # fmt: skip
