"""OutboundEmailWorkflow on the real dev server, with the application's own worker."""

from __future__ import annotations

from sqlalchemy import select
from temporalio.worker import Replayer, Worker

from activities.email import EmailActivities
from api.temporal import DATA_CONVERTER
from cli.ports import free_port
from db.models import EmailOutbox, EmailStatus
from tests.conftest import TASK_QUEUE
from tests.support.histories import record_history
from workflows.outbound_email import OutboundEmailWorkflow, SendEmail, workflow_id
from workflows.worker import WORKFLOWS, smtp_config


async def test_workflow_activity_writes_the_outbox_row_and_delivers(
    temporal_client, worker, sessionmaker, smtp_sink, unique
):
    address = f"workflow-{unique}@example.dz"
    request = SendEmail(
        idempotency_key=f"welcome:{unique}",
        to=address,
        template="test_message",
        context={"sender": "Yacine"},
        locale="en",
        subject_type="system",
        subject_id="test",
    )

    handle = await temporal_client.start_workflow(
        OutboundEmailWorkflow.run, request, id=workflow_id(request.idempotency_key),
        task_queue=TASK_QUEUE,
    )  # fmt: skip
    delivery = await handle.result()

    async with sessionmaker() as session:
        row = await session.scalar(
            select(EmailOutbox).where(EmailOutbox.idempotency_key == request.idempotency_key)
        )
    assert delivery.status == "sent" and str(row.id) == delivery.outbox_id
    assert row.status == EmailStatus.SENT and row.subject_type == "system"
    assert await handle.query(OutboundEmailWorkflow.status) == "sent"
    await smtp_sink.wait_for(address)

    # The run just made replays against the current code.
    await Replayer(workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER).replay_workflow(
        await handle.fetch_history()
    )
    await record_history(handle, "outbound_email")


async def test_email_never_accepted_within_two_days_is_recorded_failed(
    time_skipping_env, settings, sessionmaker, unique
):
    """Time-skipping: two days of retries against a dead SMTP server pass in seconds."""
    down = EmailActivities(
        sessionmaker, smtp_config(settings.model_copy(update={"smtp_port": free_port()}))
    )
    request = SendEmail(
        idempotency_key=f"doomed:{unique}", to=f"doomed-{unique}@example.dz",
        template="test_message", context={"sender": "ops"}, locale="en",
    )  # fmt: skip
    queue = f"doomed-{unique}"
    client = time_skipping_env.client
    async with Worker(
        client, task_queue=queue, workflows=[OutboundEmailWorkflow],
        activities=[down.send_email, down.record_email_failure],
    ):  # fmt: skip
        delivery = await client.execute_workflow(
            OutboundEmailWorkflow.run, request, id=workflow_id(request.idempotency_key),
            task_queue=queue,
        )  # fmt: skip

    assert delivery.status == "failed"
    async with sessionmaker() as session:
        row = await session.scalar(
            select(EmailOutbox).where(EmailOutbox.idempotency_key == request.idempotency_key)
        )
    assert row.status == EmailStatus.FAILED
    assert row.last_error.startswith("still deferred when the retry window closed")
    # 10 s doubling to a 1 h ceiling over 48 h: about fifty attempts, each one recorded.
    assert 40 <= row.attempts <= 60
