"""send_email: the outbox row comes first, and one idempotency key means one email, whatever
retries, crashes or refusals happen around it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.email import EmailActivities, message_id_for
from cli.ports import free_port
from db.models import EmailOutbox, EmailStatus
from workflows.outbound_email import SEND_EMAIL, OutboundEmailWorkflow, SendEmail
from workflows.worker import smtp_config


def _request(address: str, **overrides) -> SendEmail:
    values = {
        "idempotency_key": f"test:{uuid.uuid4()}",
        "to": address,
        "template": "test_message",
        "context": {"sender": "Amina <b>Benali</b>"},
        "locale": "en",
    }
    return SendEmail(**{**values, **overrides})


async def _outbox_row(sessionmaker, key: str) -> EmailOutbox:
    async with sessionmaker() as session:
        return await session.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == key))


@pytest.fixture
def email_activities(settings, sessionmaker) -> EmailActivities:
    return EmailActivities(sessionmaker, smtp_config(settings))


async def test_email_is_recorded_in_the_outbox_then_delivered(
    email_activities, sessionmaker, smtp_sink, unique
):
    address = f"client-{unique}@example.dz"
    request = _request(address)

    delivery = await ActivityEnvironment().run(email_activities.send_email, request)

    assert delivery.status == "sent"
    row = await _outbox_row(sessionmaker, request.idempotency_key)
    assert row.status == EmailStatus.SENT and row.attempts == 1 and row.sent_at is not None
    [mail] = smtp_sink.to(address)
    assert mail.message["Message-ID"] == row.message_id
    assert mail.message["Message-ID"] == message_id_for(
        request.idempotency_key, "cloudmanager.localhost"
    )
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message["X-Auto-Response-Suppress"] == "All"
    assert "Amina <b>Benali</b>" in mail.text  # plain text is not escaped…
    assert "Amina &lt;b&gt;Benali&lt;/b&gt;" in mail.html  # …HTML is


async def test_same_key_twice_sends_once(email_activities, smtp_sink, unique):
    address = f"twice-{unique}@example.dz"
    request = _request(address)

    first = await ActivityEnvironment().run(email_activities.send_email, request)
    second = await ActivityEnvironment().run(email_activities.send_email, request)

    assert first == second
    assert len(smtp_sink.to(address)) == 1


async def test_retry_after_the_server_accepted_does_not_send_again(
    temporal_client, settings, sessionmaker, smtp_sink, unique
):
    """The activity delivers, then its attempt fails (worker lost the result): Temporal retries,
    and the retry finds the outbox row sent."""
    real = EmailActivities(sessionmaker, smtp_config(settings))
    attempts: list[int] = []

    @activity.defn(name=SEND_EMAIL)
    async def send_then_fail_once(request: SendEmail):
        delivery = await real.send_email(request)
        attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise ApplicationError(
                "worker lost the result after the SMTP server accepted",
                next_retry_delay=timedelta(milliseconds=50),
            )
        return delivery

    address = f"retry-{unique}@example.dz"
    request = _request(address)
    queue = f"email-retry-{unique}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[OutboundEmailWorkflow],
        activities=[send_then_fail_once],
    ):
        delivery = await temporal_client.execute_workflow(
            OutboundEmailWorkflow.run, request, id=f"email-{request.idempotency_key}",
            task_queue=queue,
        )  # fmt: skip

    assert attempts == [1, 2]
    assert delivery.status == "sent"
    assert len(smtp_sink.to(address)) == 1


async def test_crash_between_delivery_and_record_does_not_send_again(
    email_activities, sessionmaker, smtp_sink, unique, monkeypatch
):
    """The worker dies after the server's 250 and before `sent` is committed: the row stays
    `sending`, and the next attempt settles it without a second delivery."""
    address = f"crash-{unique}@example.dz"
    request = _request(address)
    original = EmailActivities.mark_sent
    crashed = False

    async def crash_once(self, rows, note=""):
        nonlocal crashed
        if not crashed:
            crashed = True
            raise ConnectionError("worker died before recording the delivery")
        await original(self, rows, note)

    monkeypatch.setattr(EmailActivities, "mark_sent", crash_once)
    with pytest.raises(ConnectionError):
        await ActivityEnvironment().run(email_activities.send_email, request)
    assert (await _outbox_row(sessionmaker, request.idempotency_key)).status == EmailStatus.SENDING

    delivery = await ActivityEnvironment().run(email_activities.send_email, request)

    assert delivery.status == "sent"
    row = await _outbox_row(sessionmaker, request.idempotency_key)
    assert "not confirmed" in row.last_error
    assert len(smtp_sink.to(address)) == 1


async def test_unreachable_server_defers_and_a_later_attempt_delivers(
    settings, sessionmaker, smtp_sink, unique
):
    address = f"later-{unique}@example.dz"
    request = _request(address)
    down = EmailActivities(
        sessionmaker, smtp_config(settings.model_copy(update={"smtp_port": free_port()}))
    )

    with pytest.raises(ApplicationError) as deferred:
        await ActivityEnvironment().run(down.send_email, request)
    assert deferred.value.type == "EmailDeferred" and not deferred.value.non_retryable
    row = await _outbox_row(sessionmaker, request.idempotency_key)
    assert row.status == EmailStatus.DEFERRED and "unreachable" in row.last_error

    up = EmailActivities(sessionmaker, smtp_config(settings))
    delivery = await ActivityEnvironment().run(up.send_email, request)

    assert delivery.status == "sent"
    assert len(smtp_sink.to(address)) == 1


async def test_temporary_refusal_defers_and_permanent_refusal_fails(
    email_activities, sessionmaker, smtp_sink, unique
):
    busy, gone = f"busy-{unique}@example.dz", f"gone-{unique}@example.dz"
    smtp_sink.refusals[busy] = "451 4.3.0 Try again later"
    smtp_sink.refusals[gone] = "550 5.1.1 No such user"

    with pytest.raises(ApplicationError) as temporary:
        await ActivityEnvironment().run(email_activities.send_email, _request(busy))
    with pytest.raises(ApplicationError) as permanent:
        await ActivityEnvironment().run(email_activities.send_email, request := _request(gone))

    assert temporary.value.type == "EmailDeferred" and not temporary.value.non_retryable
    assert permanent.value.type == "EmailRejected" and permanent.value.non_retryable
    row = await _outbox_row(sessionmaker, request.idempotency_key)
    assert row.status == EmailStatus.FAILED and "550" in row.last_error
    assert smtp_sink.to(busy) == [] and smtp_sink.to(gone) == []


async def test_unknown_template_fails_without_writing_anything(
    email_activities, sessionmaker, unique
):
    request = _request(f"x-{unique}@example.dz", template="no_such_template")

    with pytest.raises(ApplicationError) as missing:
        await ActivityEnvironment().run(email_activities.send_email, request)

    assert missing.value.type == "TemplateMissing" and missing.value.non_retryable
    assert await _outbox_row(sessionmaker, request.idempotency_key) is None


async def test_email_is_written_in_the_recipients_language(email_activities, smtp_sink, unique):
    address = f"fr-{unique}@example.dz"

    await ActivityEnvironment().run(email_activities.send_email, _request(address, locale="fr"))

    [mail] = smtp_sink.to(address)
    assert mail.message["Subject"] == "Message de test CloudManager"
    assert "Bonjour" in mail.text
