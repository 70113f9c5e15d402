"""Ticket vocabulary and the rules every layer shares: statuses and their state types, which
transitions are allowed, where a reply moves a ticket. Pure; safe in workflow code.

State types decide SLA behaviour (after Zammad's and Freshdesk's model): an *active* ticket's clocks
run, a *paused* one (waiting on the customer, on hold) stops them, a *resolved* one stops them for
good unless it is reopened.
"""

from __future__ import annotations

from typing import Literal

from i18n import N_

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")

Status = Literal[
    "open", "in_progress", "answered", "waiting_on_customer", "on_hold", "resolved", "closed"
]
STATUSES: tuple[Status, ...] = (
    "open",
    "in_progress",
    "answered",
    "waiting_on_customer",
    "on_hold",
    "resolved",
    "closed",
)
StateType = Literal["active", "paused", "resolved"]
STATE_TYPE: dict[str, StateType] = {
    "open": "active",
    "in_progress": "active",
    "answered": "active",
    "waiting_on_customer": "paused",
    "on_hold": "paused",
    "resolved": "resolved",
    "closed": "resolved",
}
Channel = Literal["portal", "staff", "api", "email"]
CHANNELS: tuple[Channel, ...] = ("portal", "staff", "api", "email")

STATUS_LABELS = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "answered": N_("Answered"),
    "waiting_on_customer": N_("Waiting on customer"),
    "on_hold": N_("On hold"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
PRIORITY_LABELS = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
CHANNEL_LABELS = {
    "portal": N_("Portal"),
    "staff": N_("Staff"),
    "api": N_("API"),
    "email": N_("Email"),
}
SLA_STATE_LABELS = {"ok": N_("On time"), "at_risk": N_("At risk"), "breached": N_("Breached")}

# What an agent may set from each status. Reopening (resolved/closed → open) is its own update
# with its own window, so it is not listed here.
AGENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "answered", "waiting_on_customer", "on_hold", "resolved",
                       "closed"}),
    "in_progress": frozenset({"open", "answered", "waiting_on_customer", "on_hold", "resolved",
                              "closed"}),
    "answered": frozenset({"open", "in_progress", "waiting_on_customer", "on_hold", "resolved",
                           "closed"}),
    "waiting_on_customer": frozenset({"open", "in_progress", "answered", "on_hold", "resolved",
                                      "closed"}),
    "on_hold": frozenset({"open", "in_progress", "answered", "waiting_on_customer", "resolved",
                          "closed"}),
    "resolved": frozenset({"closed"}),
    "closed": frozenset(),
}  # fmt: skip
# A customer may only mark their own ticket solved or close it (also once it is resolved: "yes,
# it works, close it").
CUSTOMER_TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset({"resolved", "closed"} - {status}) if status != "closed" else frozenset()
    for status in STATUSES
}
# Statuses an agent may pick in the reply box ("send and set …").
REPLY_STATUSES: tuple[Status, ...] = ("answered", "waiting_on_customer", "on_hold", "resolved")


def is_resolved(status: str) -> bool:
    return STATE_TYPE[status] == "resolved"


def is_paused(status: str) -> bool:
    return STATE_TYPE[status] == "paused"


def may_set_status(current: str, wanted: str, *, by_staff: bool) -> bool:
    allowed = AGENT_TRANSITIONS if by_staff else CUSTOMER_TRANSITIONS
    return wanted in allowed[current]


def status_after_agent_reply(current: str, requested: str | None) -> str:
    """An agent's public reply answers the customer: `answered` unless the agent chose another
    reply status (waiting on the customer is the usual one when a question was asked). A
    follow-up note to a resolved ticket leaves it resolved unless a status is chosen."""
    if requested:
        return requested
    return "resolved" if current == "resolved" else "answered"


def status_after_customer_message(current: str) -> str:
    """A customer's message puts the ticket back in the agents' court."""
    return "open" if current != "in_progress" else "in_progress"


def raised(priority: str) -> str:
    """One step up, for escalations; urgent stays urgent."""
    index = PRIORITIES.index(priority)  # type: ignore[arg-type]
    return PRIORITIES[min(index + 1, len(PRIORITIES) - 1)]
