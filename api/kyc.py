"""KYC, as the portal, the back-office and later orders use it: start a customer's file (with a
snapshot of the settings and the business calendar), submit its documents, review them, and ask
whether it is approved.

Permissions and company scoping are checked here; the workflow's validator checks again what
the file's state allows. A refusal from either becomes `KycRefused`, whose `kind` pages turn
into words (REFUSALS) and the API into a problem body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import kyc_settings
from api.access import Principal
from api.settings import Settings
from db.models import BusinessCalendar, CalendarHoliday, Customer, CustomerDocument, CustomerKind
from i18n import N_
from workflows.kyc import KycWorkflow, workflow_id
from workflows.kyc_messages import (
    CustomerClosed,
    DocumentsSubmitted,
    KycPolicy,
    KycView,
    Review,
    Reviewer,
    StartKyc,
    SubmittedDocument,
)
from workflows.kyc_rules import SUBMITTABLE, missing_after
from workflows.search_attributes import CUSTOMER_ID, KYC_STATE
from workflows.ticket_messages import CalendarSnapshot

REFUSALS = {
    "NotAllowed": N_("You are not allowed to do this."),
    "OwnCompany": N_("Nobody reviews their own company's file."),
    "NotInReview": N_("This file is not waiting for a review."),
    "AlreadyDecided": N_("This document is already decided."),
    "UnknownDocument": N_("This document is not in the file under review."),
    "ReasonRequired": N_("Say what the customer must correct."),
    "NotSubmittable": N_("The file cannot be submitted now."),
    "MissingDocuments": N_("Add the missing documents first: %(missing)s."),
    "NothingNew": N_("Add at least one new document before submitting."),
    "IncompleteProfile": N_(
        "Complete the company profile first: the NIF and the RC number (or, for a person, the "
        "national identification number) are checked against the documents."
    ),
    "NotStarted": N_("The verification has not started yet."),
}
# Restarted after an expiry (a new run), or never started yet.
STARTABLE = frozenset({"not_started", "expired"})
HOLIDAY_HORIZON = timedelta(days=2 * 366)


class KycRefused(Exception):
    def __init__(self, kind: str, **variables: object) -> None:
        super().__init__(kind)
        self.kind = kind if kind in REFUSALS else "NotAllowed"
        self.variables = variables

    @property
    def message(self) -> str:
        """The untranslated msgid; translate it with `variables` for the reader."""
        return REFUSALS[self.kind]


async def _calendar(db: AsyncSession) -> CalendarSnapshot:
    calendar = await db.scalar(
        select(BusinessCalendar).order_by(BusinessCalendar.is_default.desc()).limit(1)
    )
    if calendar is None:  # no helpdesk configured yet: the Algerian working week, 08:00–16:30
        return CalendarSnapshot("Africa/Algiers", [0, 1, 2, 3, 6], [("08:00", "16:30")])
    today = datetime.now(UTC).date()
    holidays = await db.scalars(
        select(CalendarHoliday.day).where(
            CalendarHoliday.calendar_id == calendar.id,
            CalendarHoliday.day >= today,
            CalendarHoliday.day <= today + HOLIDAY_HORIZON,
        )
    )
    return CalendarSnapshot(
        calendar.time_zone, sorted(calendar.working_days),
        [(start, end) for start, end in calendar.hours], sorted(holidays),
    )  # fmt: skip


async def policy_for(db: AsyncSession, kind: CustomerKind) -> KycPolicy:
    settings = await kyc_settings.load(db)
    return KycPolicy(
        required=list(settings.required[kind.value]),
        reminder_days=settings.reminder_days,
        reviewer_reminder_hours=settings.reviewer_reminder_hours,
        expiry_days=settings.expiry_days,
        retention_days=settings.retention_days,
        calendar=await _calendar(db),
    )


async def ensure_started(
    client: Client, db: AsyncSession, settings: Settings, customer: Customer
) -> None:
    """Start the customer's file unless it runs already (safe to call on every visit)."""
    if customer.kyc_state not in STARTABLE:
        return
    start = StartKyc(str(customer.id), customer.kind.value, await policy_for(db, customer.kind))
    await client.start_workflow(
        KycWorkflow.run,
        start,
        id=workflow_id(str(customer.id)),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CUSTOMER_ID, str(customer.id)),
                SearchAttributePair(KYC_STATE, "collecting"),
            ]
        ),
    )


def _handle(client: Client, customer_id: uuid.UUID | str):
    return client.get_workflow_handle_for(KycWorkflow.run, workflow_id(str(customer_id)))


async def view(client: Client, customer_id: uuid.UUID | str) -> KycView | None:
    """The live file, or None when the customer has none."""
    try:
        return await _handle(client, customer_id).query(KycWorkflow.view)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def is_approved(client: Client, customer_id: uuid.UUID | str) -> bool:
    """For orders: whether this customer's KYC is approved."""
    try:
        return await _handle(client, customer_id).query(KycWorkflow.is_approved)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise


async def drafts(db: AsyncSession, customer_id: uuid.UUID) -> list[CustomerDocument]:
    rows = await db.scalars(
        select(CustomerDocument).where(
            CustomerDocument.customer_id == customer_id,
            CustomerDocument.review_status == "uploaded",
            CustomerDocument.deleted_at.is_(None),
        )
    )
    return list(rows)


def _profile_complete(customer: Customer) -> bool:
    if customer.kind == CustomerKind.COMPANY:
        return bool(customer.nif and customer.rc)
    return bool(customer.national_id)


async def submit(
    client: Client, db: AsyncSession, principal: Principal, customer: Customer, request_id: str
) -> None:
    """Send the uploaded documents for review, once every required document is there."""
    file = await view(client, customer.id)
    if file is None:
        raise KycRefused("NotStarted")
    if file.state not in SUBMITTABLE:
        raise KycRefused("NotSubmittable")
    if not _profile_complete(customer):
        raise KycRefused("IncompleteProfile")
    uploaded = [d for d in await drafts(db, customer.id) if d.requirement in file.required]
    missing = missing_after(file.required, file.documents, [d.requirement for d in uploaded])
    if missing:
        raise KycRefused("MissingDocuments", missing=missing)
    if not uploaded:
        raise KycRefused("NothingNew")
    submission = DocumentsSubmitted(
        request_id, str(principal.user_id),
        [SubmittedDocument(str(d.id), d.requirement) for d in uploaded],
    )  # fmt: skip
    await _handle(client, customer.id).signal(KycWorkflow.documents_submitted, submission)


async def review(
    client: Client, principal: Principal, customer_id: uuid.UUID, document_id: uuid.UUID,
    *, approve: bool, reason: str, request_id: str,
) -> KycView:  # fmt: skip
    """One decision under the form's request id: a double click applies it once."""
    reviewer = Reviewer(
        str(principal.user_id), principal.user.full_name,
        str(principal.customer_id) if principal.customer_id else None,
        principal.is_staff and principal.can("customers.validate"),
    )  # fmt: skip
    decision = Review(request_id, reviewer, str(document_id), approve, reason.strip()[:2000])
    try:
        return await _handle(client, customer_id).execute_update(
            KycWorkflow.review, decision, id=request_id
        )
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type:
            raise KycRefused(cause.type) from failed
        raise
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise KycRefused("NotInReview") from error
        raise


async def customer_closed(client: Client, customer_id: uuid.UUID) -> None:
    """The customer's account is closed: its file closes (its files go after retention)."""
    try:
        await _handle(client, customer_id).signal(
            KycWorkflow.customer_closed, CustomerClosed(f"closed-{customer_id}")
        )
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
