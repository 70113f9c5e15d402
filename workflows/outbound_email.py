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
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutError

from workflows import activity_options

SEND_EMAIL = "send_email"
RECORD_EMAIL_FAILURE = "record_email_failure"


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
    # The Message-ID, when the caller's threading needs one it can recognise (a ticket's);
    # otherwise one is derived from the idempotency key.
    message_id: str = ""
    # The record inside the subject it is about (a ticket's message), for its delivery status.
    related_id: str = ""


@dataclass
class EmailDelivery:
    outbox_id: str
    message_id: str
    status: str


@dataclass
class EmailFailure:
    idempotency_key: str
    reason: str


def workflow_id(idempotency_key: str) -> str:
    return f"email-{idempotency_key}"


@workflow.defn
class OutboundEmailWorkflow:
    """Messages: none. Query `status` returns the last known delivery status.

    Ends with the delivery: sent, or failed (refused for good, or never accepted within the
    two-day retry window of `activity_options.EMAIL`)."""

    def __init__(self) -> None:
        self._status = "pending"

    @workflow.run
    async def run(self, request: SendEmail) -> EmailDelivery:
        try:
            delivery = await workflow.execute_activity(
                SEND_EMAIL, request, result_type=EmailDelivery, **activity_options.EMAIL
            )
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError) and error.cause.type == "TemplateMissing":
                raise  # a bug in our code, not a delivery outcome: let operators see the failure
            # Refused for good, or still deferred when the retry window closed: the outbox row
            # must say "failed" so the timeline never shows an email as forever on its way.
            delivery = await workflow.execute_activity(
                RECORD_EMAIL_FAILURE,
                EmailFailure(request.idempotency_key, _reason(error)),
                result_type=EmailDelivery,
                **activity_options.DATABASE,
            )
        self._status = delivery.status
        return delivery

    @workflow.query
    def status(self) -> str:
        return self._status


def _reason(error: ActivityError) -> str:
    last = str(error.cause or error)
    if error.retry_state == RetryState.TIMEOUT or isinstance(error.cause, TimeoutError):
        return f"still deferred when the retry window closed; last error: {last}"
    return last
