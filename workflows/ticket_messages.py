"""The messages of `TicketWorkflow` and its activities: one dataclass per update, signal, query
answer and activity input. Imported by the web and API layers to talk to the workflow, so it
holds data only (no Temporal calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from workflows.outbound_email import SendEmail

AuthorKind = Literal["customer", "agent", "system"]


@dataclass
class Author:
    """Who acts. The application service has checked the person's permission and company before
    sending; the workflow checks what the ticket's state allows."""

    user_id: str | None
    name: str
    kind: AuthorKind


SYSTEM = Author(None, "CloudManager", "system")


@dataclass
class Attachment:
    """An upload already stored (content-addressed) by `api.attachments`; the activity links it
    to its message."""

    id: str
    sha256: str
    filename: str
    content_type: str
    size: int


# ---------------------------------------------------------------- the policy the workflow follows


@dataclass
class CalendarSnapshot:
    time_zone: str
    working_days: list[int]
    hours: list[tuple[str, str]]
    holidays: list[date] = field(default_factory=list)


@dataclass
class EscalationStep:
    level: int
    after_minutes: int
    notify_lead: bool
    notify_admins: bool
    raise_priority: bool
    reassign_group_id: str | None = None


@dataclass
class SlaPolicySnapshot:
    """The SLA policy chosen for a ticket, copied into the workflow so its timers do not depend on
    later database reads (a changed policy applies when the ticket's priority or category
    changes, as in every helpdesk)."""

    policy_id: str
    name: str
    calendar: CalendarSnapshot
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    warning_minutes: int
    escalation: list[EscalationStep] = field(default_factory=list)


@dataclass
class GroupAutomation:
    """A support group's automation periods, in days."""

    close_resolved_after_days: int = 7
    remind_waiting_after_days: int = 3
    close_waiting_after_days: int = 10
    reopen_window_days: int = 14


# ---------------------------------------------------------------- starting a ticket


@dataclass
class OpenTicket:
    ticket_id: str
    subject: str
    body: str
    customer_id: str
    requester: Author
    channel: str
    priority: str = "medium"
    category_id: str | None = None
    # Staff opening a ticket may choose the group and the agent; otherwise the category's group
    # (or the default group) and its assignment mode decide.
    group_id: str | None = None
    assignee_id: str | None = None
    tags: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    linked_kind: str | None = None
    linked_reference: str | None = None
    # A reply to a ticket closed beyond its reopen window opens a follow-up ticket.
    follow_up_of: str | None = None
    locale: str = "fr"


# ---------------------------------------------------------------- updates (the caller waits)


@dataclass
class Reply:
    """A public message: an agent's answer or a customer's message. `request_id` is the form's
    idempotency key and becomes the message id."""

    request_id: str
    author: Author
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    # Agents only: the status the reply leaves the ticket in (default answered).
    set_status: str | None = None
    # Customers only: where the message came from when not the ticket's own channel (a mail
    # answering a ticket opened in the portal).
    channel: str | None = None


@dataclass
class AddNote:
    request_id: str
    author: Author
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    # Staff the note @mentions (resolved by the application service), notified by email.
    mentioned_ids: list[str] = field(default_factory=list)


@dataclass
class Assign:
    request_id: str
    author: Author
    group_id: str | None
    assignee_id: str | None
    # Only the agent changes (a bulk "assign to …"): the group stays whatever it is by then.
    keep_group: bool = False


@dataclass
class SetStatus:
    request_id: str
    author: Author
    status: str


@dataclass
class SetPriority:
    request_id: str
    author: Author
    priority: str


@dataclass
class SetCategory:
    request_id: str
    author: Author
    category_id: str | None


@dataclass
class SetTags:
    """Replace the tags with `tags` (None keeps them), then add `add` and take out `remove`. The
    additive forms let a bulk action add one tag without reading the others first (a change
    landing in between would be overwritten)."""

    request_id: str
    author: Author
    tags: list[str] | None = None
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    def applied_to(self, current: list[str]) -> list[str]:
        kept = set(current if self.tags is None else self.tags)
        return sorted((kept | set(self.add)) - set(self.remove))


@dataclass
class Watch:
    request_id: str
    author: Author
    user_id: str
    watching: bool = True


@dataclass
class Merge:
    """Merge this ticket into `into_ticket_id`: messages and watchers move there, this one closes
    with a link."""

    request_id: str
    author: Author
    into_ticket_id: str
    into_number: str


@dataclass
class Reopen:
    request_id: str
    author: Author


@dataclass
class SetCustomer:
    """Staff: the ticket is another customer's (a mail from an unknown sender, linked to the
    customer the sender turns out to be). `requester_id`: the contact who wrote, now a user;
    `customer_name` is kept with the event for the timeline."""

    request_id: str
    author: Author
    customer_id: str
    customer_name: str
    requester_id: str | None = None


# ---------------------------------------------------------------- signals (fire and forget)


@dataclass
class MergedIn:
    """Sent by a ticket merged into this one, after its records moved here."""

    from_ticket_id: str
    from_number: str
    message_count: int
    watcher_ids: list[str]
    author: Author


@dataclass
class InboundEmail:
    """A mail the mailbox poller threaded to this ticket. `request_id` is the inbound mail's id
    (derived from its Message-ID) and becomes the message id, so a mail delivered twice is on
    the ticket once."""

    request_id: str
    author: Author
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    # An auto-reply (out of office…): kept on the ticket, changes nothing, answers nobody.
    automatic: bool = False


# ---------------------------------------------------------------- the query answer


@dataclass
class TicketView:
    ticket_id: str
    number: str
    status: str
    priority: str
    category_id: str | None
    group_id: str | None
    assignee_id: str | None
    tags: list[str]
    watcher_ids: list[str]
    sla_state: str
    sla_paused: bool
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    escalation_level: int
    message_count: int
    merged_into_id: str | None
    # Until when a closed ticket can be reopened (None while it is not closed).
    reopen_until: datetime | None


# ---------------------------------------------------------------- activity inputs and results


@dataclass
class PolicyQuery:
    customer_id: str
    priority: str
    category_id: str | None


@dataclass
class PolicyChoice:
    policy: SlaPolicySnapshot | None


@dataclass
class RoutingQuery:
    """Which group gets a new ticket (explicit, the category's, else the default group)."""

    category_id: str | None
    group_id: str | None


@dataclass
class Routing:
    group_id: str | None
    automation: GroupAutomation


@dataclass
class NewTicketRecord:
    request: OpenTicket
    group_id: str | None
    sla_policy_id: str | None
    opened_at: datetime
    event_id: str


@dataclass
class TicketOpened:
    number: str


@dataclass
class NewTicket:
    """A ticket's opening, written in one transaction by `open_ticket`: routed, its SLA policy
    chosen, numbered and recorded, and given to an agent when its group assigns automatically."""

    request: OpenTicket
    opened_at: datetime
    event_id: str
    # The timeline event of the automatic assignment, if one happens.
    assignment_event_id: str


@dataclass
class OpenedTicket:
    number: str
    routing: Routing
    policy: SlaPolicySnapshot | None
    assignee_id: str | None


@dataclass
class Assignment:
    assignee_id: str | None


@dataclass
class AutoAssign:
    ticket_id: str
    group_id: str
    event_id: str
    seq: int
    at: datetime


@dataclass
class MessageRecord:
    message_id: str
    author: Author
    body: str
    internal: bool
    channel: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class EventRecord:
    event_id: str
    kind: str
    actor: Author
    data: dict[str, object] = field(default_factory=dict)


@dataclass
class Projection:
    """Everything list pages read about a ticket, written whole on every change."""

    seq: int
    status: str
    priority: str
    category_id: str | None
    group_id: str | None
    assignee_id: str | None
    tags: list[str]
    sla_policy_id: str | None
    sla_state: str
    sla_paused: bool
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    escalation_level: int
    first_responded_at: datetime | None
    last_customer_message_at: datetime | None
    last_agent_message_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    merged_into_id: str | None
    message_count: int
    updated_at: datetime
    # Who the ticket is for: changes only when staff link it to another customer.
    customer_id: str
    requester_id: str | None


@dataclass
class TicketChange:
    """One change to a ticket, written in one transaction by `record_ticket_change`."""

    ticket_id: str
    projection: Projection
    at: datetime
    message: MessageRecord | None = None
    events: list[EventRecord] = field(default_factory=list)
    add_watcher_ids: list[str] = field(default_factory=list)
    remove_watcher_ids: list[str] = field(default_factory=list)
    # Notifications of this change, queued for the email relay once it is written.
    notices: list[NotificationRequest] = field(default_factory=list)


@dataclass
class MoveRecords:
    from_ticket_id: str
    into_ticket_id: str


@dataclass
class MovedRecords:
    watcher_ids: list[str]


NotificationKind = Literal[
    "agent_replied",  # to the customer: the conversation, never notes
    "status_changed",  # to the customer
    "customer_replied",  # to the assignee (or the group) and staff watchers
    "assigned",  # to the new assignee
    "mentioned",  # to staff mentioned in a note
    "sla_warning",  # to the assignee (or the group lead): a deadline is near
    "escalated",  # to the group lead and/or admins
    "waiting_reminder",  # to the customer: we are waiting for you
    "opened",  # to the customer: acknowledgement
]


@dataclass
class NotificationRequest:
    ticket_id: str
    kind: NotificationKind
    # Idempotency: every email's key starts with this (one per recipient is appended).
    key: str
    actor_id: str | None = None
    message_id: str | None = None
    recipient_ids: list[str] = field(default_factory=list)
    notify_lead: bool = False
    notify_admins: bool = False
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Notifications:
    emails: list[SendEmail] = field(default_factory=list)


@dataclass
class NotificationBatch:
    """Notifications to queue for the email relay when no write carries them."""

    requests: list[NotificationRequest] = field(default_factory=list)


# ---------------------------------------------------------------- names shared with the activities


def workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


ROUTE_TICKET = "route_ticket"
CHOOSE_SLA_POLICY = "choose_sla_policy"
RECORD_TICKET_OPENED = "record_ticket_opened"
AUTO_ASSIGN = "auto_assign"
OPEN_TICKET = "open_ticket"
RECORD_TICKET_CHANGE = "record_ticket_change"
MOVE_TICKET_RECORDS = "move_ticket_records"
PLAN_TICKET_NOTIFICATIONS = "plan_ticket_notifications"
QUEUE_TICKET_NOTIFICATIONS = "queue_ticket_notifications"
# The refusal type activities raise (non-retryable) when the data itself cannot be written.
INVALID_REFERENCE = "InvalidReference"
