"""KycWorkflow's messages, views and activity inputs: one dataclass per message.

Times are aware datetimes (the pydantic converter carries them); durations are whole days or
business hours, never `timedelta`, so the default converter could read them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.outbound_email import SendEmail
from workflows.ticket_messages import CalendarSnapshot


@dataclass
class KycPolicy:
    """The KYC settings when the file started (api/kyc_settings.py), and the business calendar
    the reviewers' reminder counts in."""

    required: list[str]
    reminder_days: int
    reviewer_reminder_hours: int
    expiry_days: int
    retention_days: int
    calendar: CalendarSnapshot


@dataclass
class StartKyc:
    customer_id: str
    customer_kind: str
    policy: KycPolicy


@dataclass
class SubmittedDocument:
    document_id: str
    requirement: str


@dataclass
class DocumentsSubmitted:
    """Signal: the customer sends the documents they uploaded for review."""

    request_id: str
    submitted_by: str
    documents: list[SubmittedDocument]


@dataclass
class Reviewer:
    user_id: str
    name: str
    customer_id: str | None  # a staff member has none
    may_validate: bool  # holds `customers.validate`


@dataclass
class Review:
    """Update: one reviewer's decision on one document of the file in review."""

    request_id: str
    reviewer: Reviewer
    document_id: str
    approve: bool
    reason: str = ""


@dataclass
class CustomerClosed:
    """Signal: the customer's account is closed; the file closes and its files go after the
    retention period."""

    request_id: str


@dataclass
class DocumentState:
    document_id: str
    requirement: str
    round: int
    decision: str | None = None  # "approved" / "rejected"
    reason: str = ""
    removed: bool = False


@dataclass
class PendingRemoval:
    due: datetime
    document_ids: list[str]
    # An expired or closed file: also the KYC documents uploaded before then and never
    # submitted, which the workflow never heard of.
    file_closed_at: datetime | None = None


@dataclass
class KycView:
    customer_id: str
    state: str
    round: int
    required: list[str]
    documents: list[DocumentState]
    approved: bool
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    customer_reminders: int = 0
    reviewer_reminders: int = 0


# -- activity inputs --------------------------------------------------------------------------


@dataclass
class Decision:
    document_id: str
    approve: bool
    reason: str
    reviewer_id: str


@dataclass
class KycChange:
    """Everything one step changes, written in one transaction by `record_kyc_change`: the
    customer's projection (only if `seq` is newer), documents submitted or decided, the
    customer's status when KYC moves it, and one audit event."""

    customer_id: str
    seq: int
    state: str
    round: int
    action: str
    actor_id: str | None = None
    actor_label: str = "system"
    data: dict[str, Any] = field(default_factory=dict)
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    submitted_ids: list[str] = field(default_factory=list)
    decision: Decision | None = None
    customer_status: str | None = None  # moved there from `customer_status_from`
    customer_status_from: list[str] = field(default_factory=list)


@dataclass
class KycNotice:
    customer_id: str
    kind: str  # approved, rejected, reminder, expired, reviewer_reminder
    key: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class KycEmails:
    emails: list[SendEmail] = field(default_factory=list)


@dataclass
class FileRemoval:
    customer_id: str
    document_ids: list[str]
    file_closed_at: datetime | None = None
