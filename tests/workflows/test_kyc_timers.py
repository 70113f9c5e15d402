"""KycWorkflow's timers on the time-skipping server (start, signals and `env.sleep`; updates are
tested on the dev server): the customer's reminder, the reviewers' reminder, the expiry of an
incomplete file, and the removal of a closed or expired file's documents after retention, rows
kept."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.attachments import stored_path
from db.models import AuditEvent, Customer, CustomerDocument, CustomerStatus
from tests.support.accounts import make_person
from tests.support.histories import record_history
from tests.support.kyc import (
    kyc_customer,
    kyc_worker,
    running_file,
    submission,
    upload_documents,
)
from tests.support.ticket_timers import register_search_attributes
from workflows.kyc import KycWorkflow
from workflows.kyc_messages import CustomerClosed

HOUR = timedelta(hours=1).total_seconds()


@pytest.fixture(autouse=True)
async def _search_attributes(time_skipping_env):
    # KycWorkflow upserts KycState: the test server knows only the attributes it is told.
    await register_search_attributes(time_skipping_env.client)


DAY = timedelta(days=1).total_seconds()


async def _customer(sessionmaker, customer_id) -> Customer:
    async with sessionmaker() as db:
        return await db.get(Customer, customer_id)


async def _documents(sessionmaker, customer_id) -> list[CustomerDocument]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(CustomerDocument).where(CustomerDocument.customer_id == customer_id)
        )
        return list(rows)


async def test_a_customer_without_documents_is_reminded_after_n_days(
    time_skipping_env, settings, sessionmaker, smtp_sink
):
    customer, owner = await kyc_customer(sessionmaker, settings)
    queue = f"kyc-{uuid.uuid4().hex}"
    client = time_skipping_env.client
    async with (
        kyc_worker(client, settings, sessionmaker, queue),
        running_file(client, customer, queue) as handle,
    ):
        await time_skipping_env.sleep(2 * DAY)
        assert (await handle.query(KycWorkflow.view)).customer_reminders == 0

        await time_skipping_env.sleep(1 * DAY + HOUR)

        assert (await handle.query(KycWorkflow.view)).customer_reminders == 1
        [mail] = await smtp_sink.wait_for(owner.email)
    assert "still awaited" in mail.message["Subject"]
    assert "Trade register extract" in mail.text and "NIF certificate" in mail.text


async def test_reviewers_are_reminded_when_a_file_waits_m_business_hours(
    time_skipping_env, settings, sessionmaker, smtp_sink
):
    reviewer = await make_person(sessionmaker, settings, role="sales")
    customer, _ = await kyc_customer(sessionmaker, settings)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    queue = f"kyc-{uuid.uuid4().hex}"
    client = time_skipping_env.client
    async with (
        kyc_worker(client, settings, sessionmaker, queue),
        running_file(client, customer, queue) as handle,
    ):
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await time_skipping_env.sleep(3 * HOUR)
        view = await handle.query(KycWorkflow.view)
        assert view.state == "in_review" and view.reviewer_reminders == 0

        await time_skipping_env.sleep(1 * HOUR + 60)

        assert (await handle.query(KycWorkflow.view)).reviewer_reminders == 1
        [mail] = await smtp_sink.wait_for(reviewer.email)
    assert customer.name in mail.message["Subject"]
    fresh = await _customer(sessionmaker, customer.id)
    assert fresh.kyc_state == "in_review" and fresh.status == CustomerStatus.PENDING_VALIDATION


async def test_an_incomplete_file_expires_after_k_days_and_its_files_go_after_retention(
    time_skipping_env, settings, sessionmaker, smtp_sink
):
    customer, owner = await kyc_customer(sessionmaker, settings)
    [draft] = await upload_documents(sessionmaker, settings, customer.id, ["trade_register"])
    queue = f"kyc-{uuid.uuid4().hex}"
    client = time_skipping_env.client
    async with (
        kyc_worker(client, settings, sessionmaker, queue),
        running_file(client, customer, queue) as handle,
    ):
        await time_skipping_env.sleep(10 * DAY + HOUR)
        assert (await handle.query(KycWorkflow.view)).state == "expired"
        assert (await _customer(sessionmaker, customer.id)).kyc_state == "expired"
        assert stored_path(settings, draft.sha256).exists()

        await time_skipping_env.sleep(5 * DAY + HOUR)
        assert await handle.result() == "expired"
        await record_history(handle, "kyc_expired")
        expired = [m for m in smtp_sink.to(owner.email) if "expired" in m.message["Subject"]]

    [kept] = await _documents(sessionmaker, customer.id)
    assert kept.file_removed_at is not None and kept.filename == draft.filename
    assert not stored_path(settings, draft.sha256).exists()
    assert len(expired) == 1


async def test_a_closed_customers_files_are_removed_after_retention(
    time_skipping_env, settings, sessionmaker
):
    customer, _ = await kyc_customer(sessionmaker, settings)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    queue = f"kyc-{uuid.uuid4().hex}"
    client = time_skipping_env.client
    async with (
        kyc_worker(client, settings, sessionmaker, queue),
        running_file(client, customer, queue) as handle,
    ):
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await handle.signal(KycWorkflow.customer_closed, CustomerClosed("closed"))
        await time_skipping_env.sleep(4 * DAY)
        assert all(d.file_removed_at is None for d in await _documents(sessionmaker, customer.id))

        await time_skipping_env.sleep(1 * DAY + HOUR)
        assert await handle.result() == "closed"

    kept = await _documents(sessionmaker, customer.id)
    assert len(kept) == 2 and all(d.file_removed_at is not None for d in kept)
    assert all(not stored_path(settings, d.sha256).exists() for d in kept)
    async with sessionmaker() as db:
        actions = set(
            await db.scalars(
                select(AuditEvent.action).where(AuditEvent.target_id == str(customer.id))
            )
        )
    assert {"kyc.started", "kyc.submitted", "kyc.closed", "kyc.files_removed"} <= actions
