"""The messages of the mailbox poller (`MailboxPollWorkflow`) and its activities: one dataclass
per activity input and result. Data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from workflows.outbound_email import SendEmail
from workflows.ticket_messages import InboundEmail, OpenTicket

MailAction = Literal["open", "append", "reject", "none"]


@dataclass
class PollMailbox:
    mailbox_id: str


@dataclass
class FetchMail:
    mailbox_id: str
    limit: int


@dataclass
class InboundDecision:
    """What one inbound mail does, decided by the fetch activity and stored with the mail, so
    a re-fetch after a crash finds the same decision instead of making another.

    - open: start the ticket `open_ticket` (its id is the mail's id);
    - append: signal `email` to `ticket_id`; if that ticket's run has ended (closed beyond its
      reopen window), open `open_ticket` instead, a follow-up ticket;
    - reject: send `rejection` (an unknown sender, when the mailbox says so);
    - none: held, quarantined, a bounce, our own mail: nothing more to do.
    """

    inbound_id: str
    action: MailAction
    ticket_id: str | None = None
    open_ticket: OpenTicket | None = None
    email: InboundEmail | None = None
    rejection: SendEmail | None = None


@dataclass
class FetchedBatch:
    uid_validity: int
    # Every UID fetched (also those whose mail was already taken in through another mailbox or
    # an earlier attempt: they still need flagging or moving).
    uids: list[int] = field(default_factory=list)
    decisions: list[InboundDecision] = field(default_factory=list)
    # More mail is waiting beyond this batch.
    more: bool = False
    # The mailbox could not be read (recorded on its row); the run ends, the schedule retries.
    error: str = ""


@dataclass
class Outcome:
    """What was done: `followed_up` when an append fell back to a new follow-up ticket."""

    inbound_id: str
    followed_up: bool = False


@dataclass
class MarkProcessed:
    mailbox_id: str
    uid_validity: int
    uids: list[int]
    outcomes: list[Outcome] = field(default_factory=list)
