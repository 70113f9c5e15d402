"""KycWorkflow's review update on the dev server: decisions per document, approval that activates
the customer and tells them, rejection that tells them why and waits for a resubmission, one
decision for a double click, and every refusal of the validator with nothing written."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from api import kyc
from api.access import Principal
from api.identity.roles import permissions_of
from db.models import AuditEvent, Customer, CustomerDocument, CustomerStatus
from tests.conftest import TASK_QUEUE
from tests.support.accounts import make_person
from tests.support.histories import record_history
from tests.support.kyc import kyc_customer, running_file, submission, upload_documents
from workflows.kyc import KycWorkflow


async def _principal(sessionmaker, person) -> Principal:
    async with sessionmaker() as db:
        granted, _ = await permissions_of(db, person.user.id)
    return Principal(person.user, None, granted)


async def _reviewer(sessionmaker, settings, role: str = "sales", **options) -> Principal:
    return await _principal(sessionmaker, await make_person(sessionmaker, settings, role=role,
                                                            **options))  # fmt: skip


async def _decide(temporal_client, principal, customer, document, approve=True, reason="", key=""):
    return await kyc.review(
        temporal_client, principal, customer.id, document.id, approve=approve, reason=reason,
        request_id=key or str(uuid.uuid4()),
    )  # fmt: skip


async def _wait_for_state(handle, state: str):
    for _ in range(100):
        if (await handle.query(KycWorkflow.view)).state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the file never reached {state}")


async def _events(sessionmaker, customer_id, action) -> int:
    async with sessionmaker() as db:
        return await db.scalar(
            select(func.count()).where(
                AuditEvent.target_id == str(customer_id), AuditEvent.action == action
            )
        )


async def test_approving_every_document_activates_the_customer_and_tells_them(
    temporal_client, worker, settings, sessionmaker, smtp_sink
):
    reviewer = await _reviewer(sessionmaker, settings)
    customer, owner = await kyc_customer(sessionmaker, settings)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    async with running_file(temporal_client, customer, TASK_QUEUE) as handle:
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await _wait_for_state(handle, "in_review")

        first = await _decide(temporal_client, reviewer, customer, documents[0])
        assert first.state == "in_review"
        done = await _decide(temporal_client, reviewer, customer, documents[1])

        assert done.state == "approved" and done.approved
        assert await kyc.is_approved(temporal_client, customer.id)
        [mail] = await smtp_sink.wait_for(owner.email)
        await record_history(handle, "kyc_approved")
    assert "verified" in mail.message["Subject"]
    async with sessionmaker() as db:
        fresh = await db.get(Customer, customer.id)
        statuses = set(
            await db.scalars(
                select(CustomerDocument.review_status).where(
                    CustomerDocument.customer_id == customer.id
                )
            )
        )
    assert (fresh.status, fresh.kyc_state) == (CustomerStatus.ACTIVE, "approved")
    assert statuses == {"approved"}


async def test_a_rejection_tells_why_and_a_resubmission_goes_back_to_review(
    temporal_client, worker, settings, sessionmaker, smtp_sink
):
    reviewer = await _reviewer(sessionmaker, settings)
    customer, owner = await kyc_customer(sessionmaker, settings)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    async with running_file(temporal_client, customer, TASK_QUEUE) as handle:
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await _wait_for_state(handle, "in_review")
        await _decide(temporal_client, reviewer, customer, documents[0])
        rejected = await _decide(
            temporal_client, reviewer, customer, documents[1], approve=False,
            reason="Attestation illisible, renvoyez un scan net",
        )  # fmt: skip
        assert rejected.state == "rejected"
        [mail] = await smtp_sink.wait_for(owner.email)
        assert "Attestation illisible, renvoyez un scan net" in mail.text
        assert "NIF certificate" in mail.text

        [again] = await upload_documents(sessionmaker, settings, customer.id, ["nif_certificate"])
        await handle.signal(KycWorkflow.documents_submitted, submission([again]))
        await _wait_for_state(handle, "in_review")
        view = await _decide(temporal_client, reviewer, customer, again)
        await record_history(handle, "kyc_rejected_then_approved")

    assert (view.state, view.round) == ("approved", 2)


async def test_a_double_click_on_approve_makes_one_decision(
    temporal_client, worker, settings, sessionmaker
):
    reviewer = await _reviewer(sessionmaker, settings)
    customer, _ = await kyc_customer(sessionmaker, settings)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    async with running_file(temporal_client, customer, TASK_QUEUE) as handle:
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await _wait_for_state(handle, "in_review")
        key = str(uuid.uuid4())

        once = await _decide(temporal_client, reviewer, customer, documents[0], key=key)
        twice = await _decide(temporal_client, reviewer, customer, documents[0], key=key)
        with pytest.raises(kyc.KycRefused) as refused:
            await _decide(temporal_client, reviewer, customer, documents[0])

    assert once == twice and refused.value.kind == "AlreadyDecided"
    assert await _events(sessionmaker, customer.id, "kyc.document_approved") == 1


@pytest.mark.parametrize(
    ("who", "approve", "reason", "kind"),
    [
        ("agent", True, "", "NotAllowed"),
        ("sales", False, "   ", "ReasonRequired"),
        ("own_company", True, "", "NotAllowed"),
    ],
)
async def test_a_refused_review_writes_nothing(
    temporal_client, worker, settings, sessionmaker, who, approve, reason, kind
):
    customer, _ = await kyc_customer(sessionmaker, settings)
    if who == "own_company":
        reviewer = await _reviewer(sessionmaker, settings, "customer_owner", customer=customer)
    else:
        reviewer = await _reviewer(sessionmaker, settings, who)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    async with running_file(temporal_client, customer, TASK_QUEUE) as handle:
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await _wait_for_state(handle, "in_review")

        with pytest.raises(kyc.KycRefused) as refused:
            await _decide(temporal_client, reviewer, customer, documents[0], approve, reason)

    assert refused.value.kind == kind
    assert await _events(sessionmaker, customer.id, "kyc.document_approved") == 0
    assert await _events(sessionmaker, customer.id, "kyc.document_rejected") == 0


async def test_the_validator_refuses_a_reviewer_of_the_same_company(
    temporal_client, worker, settings, sessionmaker
):
    """Even with `customers.validate` (a custom role could grant it), nobody reviews their own
    company: the workflow itself says no."""
    customer, owner = await kyc_customer(sessionmaker, settings)
    documents = await upload_documents(sessionmaker, settings, customer.id)
    async with running_file(temporal_client, customer, TASK_QUEUE) as handle:
        await handle.signal(KycWorkflow.documents_submitted, submission(documents))
        await _wait_for_state(handle, "in_review")
        reviewer = kyc.Reviewer(str(owner.user.id), "Insider", str(customer.id), True)
        review = kyc.Review(str(uuid.uuid4()), reviewer, str(documents[0].id), True)

        with pytest.raises(Exception) as refused:
            await handle.execute_update(KycWorkflow.review, review)

    assert refused.value.cause.type == "OwnCompany"
