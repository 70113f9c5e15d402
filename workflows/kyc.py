"""KycWorkflow: one customer's know-your-customer file, from the first upload to approval.
Id `kyc-{customer_uuid}`.

Messages:
- signal `documents_submitted`: the customer sends the uploaded documents; the file goes to
  review (from collecting, rejected, or expired while its run still waits for retention);
- update `review` (validator): a reviewer approves or rejects one document with a reason. Needs
  `customers.validate`, never on one's own company, never twice on one document; the same
  update id (a double click) answers with the first decision. When every document of the round
  is decided: all approved → the customer is active and told; any rejected → the customer is
  told what to fix and the file waits for a new submission;
- signal `customer_closed`: the file closes;
- queries `view` (the whole file) and `is_approved` (what orders wait for).

Timers (one loop sleeps until the earliest): the customer's reminder N days after the file
started waiting on them, expiry K days after, the reviewers' reminder M business hours after a
submission (the business calendar of the policy), and the removal of document files R days after
they were rejected or their file expired or closed (the rows stay). An expired or closed file
ends once its files are removed; an approved one stays, idle, answering `is_approved`.

Every change bumps `seq` and is written whole by `record_kyc_change`, so a retried write never
undoes a newer one. Every mutating path runs under one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_options
from workflows.kyc_messages import (
    CustomerClosed,
    Decision,
    DocumentsSubmitted,
    DocumentState,
    FileRemoval,
    KycChange,
    KycEmails,
    KycNotice,
    KycView,
    PendingRemoval,
    Review,
    StartKyc,
)
from workflows.outbound_email import SEND_EMAIL, EmailDelivery
from workflows.search_attributes import KYC_STATE

with workflow.unsafe.imports_passed_through():
    # Passed through: the sandbox's restricted zoneinfo breaks the calendar (see its docstring).
    from workflows import kyc_rules
    from workflows.business_calendar import BusinessCalendar, add_business_time

RECORD_KYC_CHANGE = "record_kyc_change"
PLAN_KYC_NOTIFICATIONS = "plan_kyc_notifications"
REMOVE_KYC_FILES = "remove_kyc_files"
REMEMBERED_REQUESTS = 200


def workflow_id(customer_id: str) -> str:
    return f"kyc-{customer_id}"


@dataclass
class KycState:
    customer_id: str
    customer_kind: str
    state: str = "collecting"
    round: int = 0
    seq: int = 0
    documents: list[DocumentState] = field(default_factory=list)
    waiting_since: datetime | None = None  # waiting on the customer since
    customer_reminded: bool = False  # in this waiting period
    customer_reminders: int = 0
    submitted_at: datetime | None = None
    reviewers_reminded: bool = False  # for this round
    reviewer_reminders: int = 0
    decided_at: datetime | None = None
    removals: list[PendingRemoval] = field(default_factory=list)
    notices: int = 0
    recent_requests: list[str] = field(default_factory=list)


def _refuse(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn
class KycWorkflow:
    @workflow.init
    def __init__(self, start: StartKyc) -> None:
        self._policy = start.policy
        self._state = KycState(start.customer_id, start.customer_kind)
        self._lock = asyncio.Lock()
        self._changed = False
        self._sending: set[asyncio.Task[None]] = set()
        snapshot = start.policy.calendar
        self._calendar = BusinessCalendar(
            time_zone=snapshot.time_zone,
            working_days=frozenset(snapshot.working_days),
            hours=tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in snapshot.hours),
            holidays=frozenset(snapshot.holidays),
        )

    @workflow.run
    async def run(self, start: StartKyc) -> str:
        async with self._lock:
            self._state.waiting_since = workflow.now()
            await self._record("kyc.started")
        while True:
            now = workflow.now()
            wake = self._next_timer()
            if wake is None and self._state.state in ("expired", "closed"):
                await workflow.wait_condition(self._quiet)
                return self._state.state
            if wake is None or wake > now:
                self._changed = False
                timeout = None if wake is None else (wake - now).total_seconds()
                with contextlib.suppress(TimeoutError):  # a timer fell due
                    await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            async with self._lock:
                await self._on_timers(workflow.now())

    def _quiet(self) -> bool:
        return workflow.all_handlers_finished() and not self._sending and not self._lock.locked()

    # ------------------------------------------------------------------ queries

    @workflow.query
    def view(self) -> KycView:
        state = self._state
        return KycView(
            customer_id=state.customer_id,
            state=state.state,
            round=state.round,
            required=list(self._policy.required),
            documents=list(state.documents),
            approved=state.state == "approved",
            submitted_at=state.submitted_at,
            decided_at=state.decided_at,
            expires_at=self._expiry(),
            customer_reminders=state.customer_reminders,
            reviewer_reminders=state.reviewer_reminders,
        )

    @workflow.query
    def is_approved(self) -> bool:
        return self._state.state == "approved"

    # ------------------------------------------------------------------ messages

    @workflow.signal
    async def documents_submitted(self, submission: DocumentsSubmitted) -> None:
        async with self._lock:
            state = self._state
            if self._replayed(submission.request_id) or state.state not in kyc_rules.SUBMITTABLE:
                return
            if not submission.documents:
                return
            known = {d.document_id for d in state.documents}
            fresh = [d for d in submission.documents if d.document_id not in known]
            state.round += 1
            state.documents += [
                DocumentState(d.document_id, d.requirement, state.round) for d in fresh
            ]
            state.state = "in_review"
            state.submitted_at = workflow.now()
            state.reviewers_reminded = False
            state.waiting_since = None
            await self._record(
                "kyc.submitted", actor_id=submission.submitted_by, actor_label="customer",
                data={"round": state.round, "documents": len(fresh)},
                submitted_ids=[d.document_id for d in fresh],
                customer_status="pending_validation", customer_status_from=["prospect"],
            )  # fmt: skip

    @workflow.update
    async def review(self, review: Review) -> KycView:
        async with self._lock:
            if self._replayed(review.request_id):
                return self.view()
            # Another update may have decided this document while this one waited for the lock.
            document = self._undecided(review.document_id)
            now = workflow.now()
            document.decision = "approved" if review.approve else "rejected"
            document.reason = review.reason.strip()
            await self._record(
                "kyc.document_approved" if review.approve else "kyc.document_rejected",
                actor_id=review.reviewer.user_id, actor_label=review.reviewer.name,
                data={"document": document.document_id, "requirement": document.requirement,
                      "reason": document.reason},
                decision=Decision(document.document_id, review.approve, document.reason,
                                  review.reviewer.user_id),
            )  # fmt: skip
            await self._conclude_round(now, review)
        return self.view()

    @review.validator
    def _validate_review(self, review: Review) -> None:
        if review.request_id in self._state.recent_requests:
            return
        if not review.reviewer.may_validate:
            raise _refuse("Reviewing needs the customers.validate permission.", "NotAllowed")
        if review.reviewer.customer_id == self._state.customer_id:
            raise _refuse("Nobody reviews their own company's file.", "OwnCompany")
        if self._state.state != "in_review":
            raise _refuse("This file is not waiting for a review.", "NotInReview")
        self._undecided(review.document_id)
        if not review.approve and not review.reason.strip():
            raise _refuse("Say what to correct.", "ReasonRequired")

    @workflow.signal
    async def customer_closed(self, closed: CustomerClosed) -> None:
        async with self._lock:
            state = self._state
            if self._replayed(closed.request_id) or state.state == "closed":
                return
            state.state = "closed"
            state.waiting_since = None
            now = workflow.now()
            self._plan_removal(now, [d for d in state.documents if not d.removed], closed=True)
            await self._record("kyc.closed")

    # ------------------------------------------------------------------ decisions

    def _undecided(self, document_id: str) -> DocumentState:
        state = self._state
        for document in state.documents:
            if document.document_id == document_id and document.round == state.round:
                if document.decision is not None:
                    raise _refuse("This document is already decided.", "AlreadyDecided")
                return document
        raise _refuse("This document is not in the file under review.", "UnknownDocument")

    async def _conclude_round(self, now: datetime, review: Review) -> None:
        state = self._state
        outcome = kyc_rules.round_outcome(state.documents, state.round)
        if outcome is None:
            return
        state.decided_at = now
        actor = {"actor_id": review.reviewer.user_id, "actor_label": review.reviewer.name}
        if outcome == "approved" and kyc_rules.file_approved(
            self._policy.required, state.documents
        ):
            state.state = "approved"
            await self._record(
                "kyc.approved", **actor, customer_status="active",
                customer_status_from=["prospect", "pending_validation"],
            )  # fmt: skip
            self._notify("approved")
            return
        rejected = [
            d for d in state.documents if d.round == state.round and d.decision == "rejected"
        ]
        state.state = "rejected" if rejected else "collecting"
        state.waiting_since = now
        state.customer_reminded = False
        self._plan_removal(now, rejected)
        await self._record("kyc.rejected" if rejected else "kyc.collecting", **actor,
                           data={"rejected": len(rejected)})  # fmt: skip
        if rejected:
            reasons = [{"requirement": d.requirement, "reason": d.reason} for d in rejected]
            self._notify("rejected", {"rejected": reasons})

    # ------------------------------------------------------------------ timers

    def _expiry(self) -> datetime | None:
        since = self._state.waiting_since
        if since is None or self._state.state not in kyc_rules.WAITING_ON_CUSTOMER:
            return None
        return since + timedelta(days=self._policy.expiry_days)

    def _customer_reminder(self) -> datetime | None:
        state = self._state
        if state.customer_reminded or state.waiting_since is None:
            return None
        if state.state not in kyc_rules.WAITING_ON_CUSTOMER:
            return None
        due = state.waiting_since + timedelta(days=self._policy.reminder_days)
        expiry = self._expiry()
        return due if expiry is None or due < expiry else None

    def _reviewer_reminder(self) -> datetime | None:
        state = self._state
        if state.state != "in_review" or state.reviewers_reminded or state.submitted_at is None:
            return None
        hours = timedelta(hours=self._policy.reviewer_reminder_hours)
        return add_business_time(self._calendar, state.submitted_at, hours)

    def _next_timer(self) -> datetime | None:
        dues = [self._expiry(), self._customer_reminder(), self._reviewer_reminder()]
        dues += [removal.due for removal in self._state.removals]
        return min((due for due in dues if due is not None), default=None)

    async def _on_timers(self, now: datetime) -> None:
        state = self._state
        due = self._customer_reminder()
        if due is not None and due <= now:
            state.customer_reminded = True
            state.customer_reminders += 1
            missing = kyc_rules.missing_after(self._policy.required, state.documents, [])
            self._notify("reminder", {"missing": missing})
        due = self._reviewer_reminder()
        if due is not None and due <= now:
            state.reviewers_reminded = True
            state.reviewer_reminders += 1
            self._notify("reviewer_reminder", {"submitted_at": state.submitted_at.isoformat()})
        due = self._expiry()
        if due is not None and due <= now:
            state.state = "expired"
            state.waiting_since = None
            self._plan_removal(now, [d for d in state.documents if not d.removed], closed=True)
            await self._record("kyc.expired")
            self._notify("expired")
        for removal in [r for r in state.removals if r.due <= now]:
            await workflow.execute_activity(
                REMOVE_KYC_FILES,
                FileRemoval(state.customer_id, removal.document_ids, removal.file_closed_at),
                **activity_options.DATABASE,
            )  # fmt: skip
            for document in state.documents:
                if document.document_id in removal.document_ids:
                    document.removed = True
            state.removals.remove(removal)

    def _plan_removal(
        self, now: datetime, documents: list[DocumentState], *, closed: bool = False
    ) -> None:
        if documents or closed:
            due = now + timedelta(days=self._policy.retention_days)
            ids = [d.document_id for d in documents]
            self._state.removals.append(PendingRemoval(due, ids, now if closed else None))

    # ------------------------------------------------------------------ writing and telling

    async def _record(self, action: str, **change: object) -> None:
        """Write the projection and one audit event; publish the state for operators."""
        state = self._state
        state.seq += 1
        self._changed = True
        workflow.upsert_search_attributes([KYC_STATE.value_set(state.state)])
        await workflow.execute_activity(
            RECORD_KYC_CHANGE,
            KycChange(
                customer_id=state.customer_id, seq=state.seq, state=state.state,
                round=state.round, action=action, submitted_at=state.submitted_at,
                decided_at=state.decided_at, **change,  # type: ignore[arg-type]
            ),
            **activity_options.DATABASE,
        )  # fmt: skip

    def _notify(self, kind: str, data: dict | None = None) -> None:
        """Email in the background: a reviewer's update does not wait for SMTP."""
        self._state.notices += 1
        notice = KycNotice(
            self._state.customer_id, kind,
            f"kyc:{self._state.customer_id}:{self._state.notices}:{kind}", data or {},
        )  # fmt: skip
        task = asyncio.create_task(self._send(notice))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, notice: KycNotice) -> None:
        plan = await workflow.execute_activity(
            PLAN_KYC_NOTIFICATIONS, notice, result_type=KycEmails, **activity_options.DATABASE
        )
        sends = [
            workflow.execute_activity(
                SEND_EMAIL, email, result_type=EmailDelivery, **activity_options.EMAIL
            )
            for email in plan.emails
        ]
        for outcome in await asyncio.gather(*sends, return_exceptions=True):
            # A refused email is on its outbox row; it must not fail the file.
            if isinstance(outcome, ActivityError):
                workflow.logger.warning("KYC notification not delivered: %s", outcome)

    def _replayed(self, request_id: str) -> bool:
        recent = self._state.recent_requests
        if request_id in recent:
            return True
        recent.append(request_id)
        del recent[:-REMEMBERED_REQUESTS]
        return False
