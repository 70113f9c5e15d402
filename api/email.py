"""Application service for outbound email that belongs to no longer process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from api.settings import Settings
from workflows.outbound_email import OutboundEmailWorkflow, SendEmail, workflow_id


@dataclass
class Outgoing:
    """An email a service asks for; the caller sends it once the transaction has committed."""

    template: str
    to: str
    locale: str
    context: dict[str, object]
    idempotency_key: str


async def send_email(client: Client, settings: Settings, request: SendEmail) -> str:
    """Start the durable send; returns the workflow id. The same idempotency key never sends
    twice: a second start with it is refused by Temporal and by the outbox."""
    handle = await client.start_workflow(
        OutboundEmailWorkflow.run,
        request,
        id=workflow_id(request.idempotency_key),
        task_queue=settings.temporal_task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    return handle.id


async def send_outgoing(client: Client, settings: Settings, outgoing: list[Outgoing]) -> None:
    """Start the sends a committed transaction asked for."""
    for email in outgoing:
        await send_email(
            client,
            settings,
            SendEmail(
                idempotency_key=email.idempotency_key,
                to=email.to,
                template=email.template,
                context=email.context,
                locale=email.locale,
                subject_type="user",
            ),
        )


async def send_test_email(
    client: Client, settings: Settings, *, to: str, requested_by: str, locale: str
) -> str:
    key = f"test-message:{uuid.uuid4()}"
    return await send_email(
        client,
        settings,
        SendEmail(
            idempotency_key=key,
            to=to,
            template="test_message",
            context={"sender": requested_by},
            locale=locale,
            subject_type="system",
            subject_id="test-message",
        ),
    )
