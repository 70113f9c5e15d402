"""OutboundEmailWorkflow on the real dev server, with the application's own worker."""

from __future__ import annotations

from sqlalchemy import select
from temporalio.worker import Replayer

from api.temporal import DATA_CONVERTER
from db.models import EmailOutbox, EmailStatus
from tests.conftest import TASK_QUEUE
from tests.support.histories import record_history
from workflows.outbound_email import OutboundEmailWorkflow, SendEmail, workflow_id
from workflows.worker import WORKFLOWS


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
