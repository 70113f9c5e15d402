"""A ticket's notifications, sent in the background so the caller of an update does not wait for
SMTP: each is planned by an activity (who hears, what they read; never internal notes for
customers) and sent through the outbox under a key decided here. Unsent ones are kept in the
state, so a run that continues as new hands them over and the next one sends them again under the
same keys (the outbox sends each key once). Passed through the sandbox like ticket_process.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import activity_options
from workflows.outbound_email import SEND_EMAIL, EmailDelivery
from workflows.ticket_messages import (
    PLAN_TICKET_NOTIFICATIONS,
    Author,
    NotificationRequest,
    Notifications,
)
from workflows.ticket_state import TicketState


class TicketNotices:
    _state: TicketState
    _sending: set[asyncio.Task[None]]

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
        """Email in the background: the caller of an update does not wait for SMTP."""
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
        self._start_sending(request)

    def _start_sending(self, request: NotificationRequest) -> None:
        task = asyncio.create_task(self._send(request))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, request: NotificationRequest) -> None:
        await self._deliver(request)
        pending = self._state.pending_notices
        pending[:] = [notice for notice in pending if notice.key != request.key]

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
