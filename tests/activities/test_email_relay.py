"""The email relay: what a transaction queued in the outbox leaves once it commits, one email per
key however many relays run, and retries follow the send_email activity's policy (later after a
"try later", never after a permanent refusal, failed when the two-day window closes).

The tests' worker runs a relay of its own once a test has started it: each test here waits for
the row's outcome, whichever relay got there first."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from activities.email import EmailActivities
from activities.email_relay import (
    FIRST_RETRY,
    LONGEST_RETRY,
    PER_CONVERSATION,
    SWEEP_SECONDS,
    EmailRelay,
    retry_delay,
)
from db.models import EmailOutbox, EmailStatus
from workflows.outbound_email import SendEmail
from workflows.worker import smtp_config


def _request(address: str) -> SendEmail:
    return SendEmail(
        idempotency_key=f"relay:{uuid.uuid4()}", to=address, template="test_message",
        context={"sender": "Amina"}, locale="en", headers={"References": "<root@example.dz>"},
    )  # fmt: skip


@pytest.fixture
def emails(settings, sessionmaker) -> EmailActivities:
    return EmailActivities(sessionmaker, smtp_config(settings))


async def _queue(sessionmaker, emails: EmailActivities, request: SendEmail, **values) -> None:
    """Queue the email, set `values` on its row in the same transaction: no relay (the tests'
    worker runs one too) sees the row before it is as the test wants it."""
    async with sessionmaker() as session, session.begin():
        await emails.queue(session, [request], for_relay=True)
        if values:
            await session.execute(
                update(EmailOutbox)
                .where(EmailOutbox.idempotency_key == request.idempotency_key)
                .values(**values)
            )


async def _row(sessionmaker, key: str) -> EmailOutbox:
    async with sessionmaker() as session:
        return await session.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == key))


async def _wait_for_status(sessionmaker, key: str, status: EmailStatus) -> EmailOutbox:
    for _ in range(200):
        row = await _row(sessionmaker, key)
        if row.status == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} stayed {row.status}, never {status}")


async def test_a_queued_email_leaves_as_its_transaction_commits(
    sessionmaker, emails, smtp_sink, unique
):
    address = f"relay-{unique}@example.dz"
    request = _request(address)
    # A sweep far away: only the NOTIFY of the committing transaction can wake this relay. (The
    # tests' worker relay, if running, sweeps every SWEEP_SECONDS: sooner than that is a NOTIFY.)
    async with EmailRelay(sessionmaker, emails, sweep_seconds=3600):
        await asyncio.sleep(0.3)  # listening
        await _queue(sessionmaker, emails, request)
        [mail] = await smtp_sink.wait_for(address, within=SWEEP_SECONDS / 2)
        row = await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.SENT)

    assert row.attempts == 1
    assert mail.message["Message-ID"] == row.message_id
    assert mail.message["References"] == "<root@example.dz>"
    assert mail.message["Auto-Submitted"] == "auto-generated"


async def test_a_rolled_back_transaction_queues_nothing(sessionmaker, emails, smtp_sink, unique):
    request = _request(f"rolled-back-{unique}@example.dz")
    async with sessionmaker() as session:
        await emails.queue(session, [request], for_relay=True)
        await session.rollback()

    assert await EmailRelay(sessionmaker, emails).relay_due() >= 0
    assert await _row(sessionmaker, request.idempotency_key) is None
    assert smtp_sink.to(request.to) == []


async def test_two_relays_send_each_email_once(sessionmaker, emails, smtp_sink, unique):
    requests = [_request(f"both-{unique}-{i}@example.dz") for i in range(12)]
    async with sessionmaker() as session, session.begin():
        await emails.queue(session, requests, for_relay=True)

    first, second = EmailRelay(sessionmaker, emails), EmailRelay(sessionmaker, emails)
    await asyncio.gather(first.relay_due(), second.relay_due())

    for request in requests:
        await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.SENT)
        assert len(smtp_sink.to(request.to)) == 1


async def test_a_batch_shares_a_few_smtp_connections_and_a_refusal_does_not_break_one(
    sessionmaker, emails, smtp_sink, unique
):
    """Emails due at once leave over a connection per PER_CONVERSATION of them, at most
    CONVERSATIONS, each carrying its share in turn; the first on one connection is refused at
    RCPT, and the next one on that connection still leaves (RSET, not a broken conversation)."""
    requests = [_request(f"batch-{unique}-{i}@example.dz") for i in range(2 * PER_CONVERSATION)]
    conversations = 2
    smtp_sink.refusals[requests[0].to] = "550 5.1.1 No such user"
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        await emails.queue(session, requests, for_relay=True)
        for index, request in enumerate(requests):  # oldest first: the shares are predictable
            await session.execute(
                update(EmailOutbox)
                .where(EmailOutbox.idempotency_key == request.idempotency_key)
                .values(created_at=now - timedelta(seconds=len(requests) - index))
            )

    await EmailRelay(sessionmaker, emails).relay_due()

    failed = await _wait_for_status(sessionmaker, requests[0].idempotency_key, EmailStatus.FAILED)
    assert "550" in failed.last_error
    received = []
    for request in requests[1:]:
        await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.SENT)
        [mail] = smtp_sink.to(request.to)
        received.append(mail)
    assert len({mail.connection for mail in received}) == conversations
    # The refused email's connection went on to carry its share's next one.
    [next_one] = smtp_sink.to(requests[conversations].to)
    assert smtp_sink.asked_from[requests[0].to] == next_one.connection


async def test_try_later_defers_with_a_growing_wait_then_the_email_leaves(
    sessionmaker, emails, smtp_sink, unique
):
    address = f"busy-{unique}@example.dz"
    request = _request(address)
    smtp_sink.refusals[address] = "451 4.3.0 Try again later"
    await _queue(sessionmaker, emails, request)
    relay = EmailRelay(sessionmaker, emails)

    before = datetime.now(UTC)
    await relay.relay_due()
    row = await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.DEFERRED)
    assert "451" in row.last_error and row.attempts == 1
    assert before + FIRST_RETRY <= row.next_attempt_at <= datetime.now(UTC) + FIRST_RETRY
    await relay.relay_due()  # not due yet: left alone
    assert (await _row(sessionmaker, request.idempotency_key)).attempts == 1

    del smtp_sink.refusals[address]
    await _make_due(sessionmaker, request.idempotency_key)
    await relay.relay_due()

    await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.SENT)
    assert len(smtp_sink.to(address)) == 1


async def test_a_permanent_refusal_fails_at_once(sessionmaker, emails, smtp_sink, unique):
    address = f"gone-{unique}@example.dz"
    request = _request(address)
    smtp_sink.refusals[address] = "550 5.1.1 No such user"
    await _queue(sessionmaker, emails, request)

    await EmailRelay(sessionmaker, emails).relay_due()

    row = await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.FAILED)
    assert "550" in row.last_error and row.next_attempt_at is None


async def test_still_deferred_when_the_window_closes_is_failed(
    sessionmaker, emails, smtp_sink, unique
):
    address = f"late-{unique}@example.dz"
    request = _request(address)
    smtp_sink.refusals[address] = "421 4.7.0 Too busy"
    await _queue(sessionmaker, emails, request,
                 created_at=datetime.now(UTC) - timedelta(days=2), attempts=20)  # fmt: skip

    await EmailRelay(sessionmaker, emails).relay_due()

    row = await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.FAILED)
    assert "retry window closed" in row.last_error and "421" in row.last_error


async def test_an_attempt_that_never_confirmed_is_settled_not_sent_again(
    sessionmaker, emails, smtp_sink, unique
):
    """A relay died between the server's 250 and recording it: once its lease passes, the row
    is settled as sent without a second delivery."""
    request = _request(f"unconfirmed-{unique}@example.dz")
    await _queue(sessionmaker, emails, request, status=EmailStatus.SENDING, attempts=1)

    await EmailRelay(sessionmaker, emails).relay_due()

    row = await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.SENT)
    assert "not confirmed" in row.last_error and smtp_sink.to(request.to) == []


async def test_rows_of_the_send_email_activity_are_not_the_relays(
    sessionmaker, emails, smtp_sink, unique
):
    request = _request(f"activity-{unique}@example.dz")
    async with sessionmaker() as session, session.begin():
        await emails.queue(session, [request], for_relay=False)

    await EmailRelay(sessionmaker, emails).relay_due()

    assert (await _row(sessionmaker, request.idempotency_key)).status == EmailStatus.PENDING
    assert smtp_sink.to(request.to) == []


def test_retry_waits_double_up_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3)] == [FIRST_RETRY, 2 * FIRST_RETRY, 4 * FIRST_RETRY]
    assert retry_delay(30) == LONGEST_RETRY


async def _make_due(sessionmaker, key: str) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(EmailOutbox)
            .where(EmailOutbox.idempotency_key == key)
            .values(next_attempt_at=datetime.now(UTC))
        )
