"""A ticket's notifications: who hears, what they read (never internal notes for customers), under
a key decided here. They are queued in the outbox by the write that records their change (or, when
they follow it, by one more local activity at the end of the step), and the email relay sends
them (activities.email_relay): the caller of an update never waits for SMTP, and the Temporal
server sees no activity per email. Until queued they are kept in the state, so a run that
continues as new hands them over under the same keys (the outbox queues each key once).

Histories from before the relay (without the `WRITES_QUEUE_NOTICES` patch) planned each notification
in a local activity and sent every email through a `send_email` activity, in the background; that
path stays for them until they have all ended. Passed through the sandbox like ticket_process.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import activity_options
from workflows.outbound_email import SEND_EMAIL, EmailDelivery
from workflows.ticket_messages import (
    PLAN_TICKET_NOTIFICATIONS,
    QUEUE_TICKET_NOTIFICATIONS,
    Author,
    NotificationBatch,
    NotificationRequest,
    Notifications,
)
from workflows.ticket_state import TicketState

# One patch for the two changes that came together (each patch marker also costs the history an
# upsert of the TemporalChangeVersion search attribute): notifications queued by the writes, and
# the opening in one local activity (ticket_changes). Histories without it take the older paths.
WRITES_QUEUE_NOTICES = "ticket-writes-queue-notices"


class TicketNotices:
    _state: TicketState
    _sending: set[asyncio.Task[None]]
    _lock: asyncio.Lock

    def _notify(
        self,
        kind: str,
        *,
        actor: Author,
        message_id: str | None = None,
        recipient_ids: list[str] | None = None,
        notify_lead: bool = False,
        notify_admins: bool = False,
        data: dict[str, str] | None = None,
    ) -> None:
        """Tell people about what just happened, once its change is written."""
        self._state.notices += 1
        request = NotificationRequest(
            ticket_id=self._state.ticket_id,
            kind=kind,  # type: ignore[arg-type]
            key=f"ticket:{self._state.ticket_id}:{self._state.notices}:{kind}",
            actor_id=actor.user_id,
            message_id=message_id,
            recipient_ids=recipient_ids or [],
            notify_lead=notify_lead,
            notify_admins=notify_admins,
            data=data or {},
        )
        self._state.pending_notices.append(request)
        if not self._notices_in_outbox():
            self._start_sending(request)

    def _notices_in_outbox(self) -> bool:
        return workflow.patched(WRITES_QUEUE_NOTICES)

    def _notices_to_write(self) -> list[NotificationRequest]:
        """The notices the next write queues with its change (none on the old path, where
        each pending one is already being sent)."""
        pending = self._state.pending_notices
        return list(pending) if pending and self._notices_in_outbox() else []

    def _notices_written(self, written: list[NotificationRequest]) -> None:
        keys = {notice.key for notice in written}
        pending = self._state.pending_notices
        pending[:] = [notice for notice in pending if notice.key not in keys]

    async def _queue_notices(self) -> None:
        """At the end of a step: queue the notices no write carried (those of the step's last
        write come after it)."""
        notices = self._notices_to_write()
        if notices:
            await workflow.execute_local_activity(
                QUEUE_TICKET_NOTIFICATIONS, NotificationBatch(notices),
                **activity_options.LOCAL_DATABASE,
            )  # fmt: skip
            self._notices_written(notices)

    async def _hand_over_notices(self) -> None:
        """A run's start: the notices the previous run left pending."""
        if not self._state.pending_notices:
            return
        if self._notices_in_outbox():
            async with self._lock:  # an early update's write must not queue them alongside
                await self._queue_notices()
            return
        for notice in self._state.pending_notices:
            self._start_sending(notice)

    def _start_sending(self, request: NotificationRequest) -> None:
        task = asyncio.create_task(self._send(request))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, request: NotificationRequest) -> None:
        await self._deliver(request)
        self._notices_written([request])

    async def _deliver(self, request: NotificationRequest) -> None:
        plan = await workflow.execute_local_activity(
            PLAN_TICKET_NOTIFICATIONS, request, result_type=Notifications,
            **activity_options.LOCAL_DATABASE,
        )  # fmt: skip
        sends = [
            workflow.execute_activity(
                SEND_EMAIL, email, result_type=EmailDelivery, **activity_options.EMAIL
            )
            for email in plan.emails
        ]
        for outcome in await asyncio.gather(*sends, return_exceptions=True):
            # A refused or never-accepted email is on its outbox row (and the timeline); it must
            # not fail the ticket.
            if isinstance(outcome, ActivityError):
                workflow.logger.warning("ticket notification not delivered: %s", outcome)
