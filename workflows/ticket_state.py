"""What `TicketWorkflow` knows about its ticket: one dataclass, carried whole through
continue-as-new, so a ticket with thousands of messages keeps its state, its SLA clock and the
request ids it has already applied. Pure data; safe in workflow code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workflows.sla import SlaClock
from workflows.ticket_messages import GroupAutomation, NotificationRequest, SlaPolicySnapshot


@dataclass
class TicketState:
    ticket_id: str
    customer_id: str
    requester_id: str | None
    subject: str
    channel: str
    locale: str
    status: str = "open"
    priority: str = "medium"
    category_id: str | None = None
    group_id: str | None = None
    assignee_id: str | None = None
    tags: list[str] = field(default_factory=list)
    watcher_ids: list[str] = field(default_factory=list)
    number: str = ""
    opened_at: datetime | None = None
    automation: GroupAutomation = field(default_factory=GroupAutomation)
    policy: SlaPolicySnapshot | None = None
    clock: SlaClock | None = None
    # The breach being escalated (the deadline that passed) and how far it has escalated.
    escalation_level: int = 0
    breached_at: datetime | None = None
    # The deadline whose pre-breach warning was sent, so it is sent once.
    warned_for: datetime | None = None
    # Bumped by every change; the projection row keeps the highest it has seen.
    seq: int = 0
    first_responded_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_agent_message_at: datetime | None = None
    waiting_since: datetime | None = None
    reminded_waiting: bool = False
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into_id: str | None = None
    # Public messages (replies), as the projection counts them; internal notes are not counted.
    message_count: int = 0
    # Numbers each notification, for its emails' idempotency keys.
    notices: int = 0
    # Notifications not yet sent: a run that continues as new hands them to the next one, which
    # sends them again under the same keys (the outbox sends each key once).
    pending_notices: list[NotificationRequest] = field(default_factory=list)
    # Request ids applied lately, remembered across continue-as-new (see TicketWorkflow._seen).
    recent_requests: list[str] = field(default_factory=list)
