"""OutboundEmailWorkflow: one email that must leave, whatever the SMTP server is doing right now.

Id `email-{idempotency_key}`. Used for mail that belongs to no longer process (an address
verification, a password reset, an admin's test message); processes such as tickets call the
`send_email` activity themselves. While the server defers, Temporal retries the activity with a
widening gap for up to two days, and the run survives restarts of the worker and the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

from workflows import activity_options

SEND_EMAIL = "send_email"


@dataclass
class SendEmail:
    idempotency_key: str
    to: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    locale: str = "fr"
    # What the email is about (ticket, invoice…), for that record's timeline.
    subject_type: str = ""
    subject_id: str = ""
    # Threading and other headers decided by the caller (In-Reply-To, References…).
    headers: dict[str, str] = field(default_factory=dict)
    # Automatic mail is marked so that auto-responders do not answer it (RFC 3834).
    automatic: bool = True


@dataclass
class EmailDelivery:
    outbox_id: str
    message_id: str
    status: str


def workflow_id(idempotency_key: str) -> str:
    return f"email-{idempotency_key}"


@workflow.defn
class OutboundEmailWorkflow:
    """Messages: none. Query `status` returns the last known delivery status."""

    def __init__(self) -> None:
        self._status = "pending"

    @workflow.run
    async def run(self, request: SendEmail) -> EmailDelivery:
        delivery = await workflow.execute_activity(
            SEND_EMAIL, request, result_type=EmailDelivery, **activity_options.EMAIL
        )
        self._status = delivery.status
        return delivery

    @workflow.query
    def status(self) -> str:
        return self._status
