"""KYC files for workflow tests: a policy with short timers on a round-the-clock calendar, a
customer with its owner and uploaded documents (real files, stored for real), and a worker on
any Temporal environment running the application's own KYC and email activities."""

from __future__ import annotations

import contextlib
import uuid
from contextlib import asynccontextmanager

from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.email import EmailActivities
from activities.kyc import KycActivities
from activities.kyc_notifications import KycNotificationActivities
from api import customer_documents
from api.attachments import read_uploads
from api.audit import Actor
from db.models import CustomerDocument
from tests.support.accounts import make_person
from tests.support.attachments import pdf, upload
from tests.support.customers import company_identifiers, make_customer
from workflows.kyc import KycWorkflow, workflow_id
from workflows.kyc_messages import (
    DocumentsSubmitted,
    KycPolicy,
    StartKyc,
    SubmittedDocument,
)
from workflows.ticket_messages import CalendarSnapshot
from workflows.worker import smtp_config

REQUIRED = ["trade_register", "nif_certificate"]
ALWAYS_OPEN = CalendarSnapshot("Africa/Algiers", list(range(7)), [("00:00", "00:00")])


def short_policy(**changes) -> KycPolicy:
    values = {
        "required": list(REQUIRED), "reminder_days": 3, "reviewer_reminder_hours": 4,
        "expiry_days": 10, "retention_days": 5, "calendar": ALWAYS_OPEN, **changes,
    }  # fmt: skip
    return KycPolicy(**values)


async def kyc_customer(sessionmaker, settings):
    """(customer, its owner): a company with a complete profile, prospect, KYC not started."""
    customer = await make_customer(sessionmaker, **company_identifiers())
    owner = await make_person(sessionmaker, settings, role="customer_owner", customer=customer)
    return customer, owner


async def upload_documents(
    sessionmaker, settings, customer_id, requirements=REQUIRED
) -> list[CustomerDocument]:
    rows = []
    for requirement in requirements:
        files = await read_uploads(
            settings, [upload(f"{requirement}.pdf", pdf(f"{requirement} {uuid.uuid4().hex}"))]
        )
        async with sessionmaker() as db, db.begin():
            rows += await customer_documents.attach(
                db, settings, Actor(None, "test"), customer_id, files, requirement=requirement,
                by_staff=False,
            )  # fmt: skip
    return rows


def submission(documents: list[CustomerDocument], by: str = "") -> DocumentsSubmitted:
    return DocumentsSubmitted(
        str(uuid.uuid4()), by or str(uuid.uuid4()),
        [SubmittedDocument(str(d.id), d.requirement) for d in documents],
    )  # fmt: skip


def start_request(customer, policy: KycPolicy | None = None) -> StartKyc:
    return StartKyc(str(customer.id), customer.kind.value, policy or short_policy())


@asynccontextmanager
async def kyc_worker(client, settings, sessionmaker, task_queue: str):
    email = EmailActivities(sessionmaker, smtp_config(settings))
    kyc = KycActivities(sessionmaker, settings.uploads_path)
    notices = KycNotificationActivities(sessionmaker, settings.base_url)
    async with Worker(
        client, task_queue=task_queue, workflows=[KycWorkflow],
        activities=[email.send_email, email.record_email_failure, kyc.record_kyc_change,
                    kyc.remove_kyc_files, notices.plan_kyc_notifications],
    ):  # fmt: skip
        yield


@asynccontextmanager
async def running_file(client, customer, task_queue: str, policy: KycPolicy | None = None):
    """The customer's file, started; terminated on the way out if it still runs, so that its
    timers never fire in another test (the time-skipping server's clock is shared)."""
    handle = await client.start_workflow(
        KycWorkflow.run, start_request(customer, policy), id=workflow_id(str(customer.id)),
        task_queue=task_queue,
    )  # fmt: skip
    try:
        yield handle
    finally:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")
