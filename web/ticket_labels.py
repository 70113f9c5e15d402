"""Words for the ticket vocabulary (statuses, priorities, SLA states, queues), marked for
extraction and translated where they are shown: in templates through the `TICKET_LABELS`
global (`_(TICKET_LABELS.status[ticket.status])`), in Python with `translate(request, …)`."""

from __future__ import annotations

from i18n import N_

STATUS = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "answered": N_("Answered"),
    "waiting_on_customer": N_("Waiting on customer"),
    "on_hold": N_("On hold"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
PRIORITY = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
SLA = {
    "ok": N_("On time"),
    "at_risk": N_("At risk"),
    "breached": N_("Breached"),
}
QUEUE = {
    "mine": N_("My tickets"),
    "unassigned": N_("Unassigned"),
    "my_groups": N_("My groups"),
    "at_risk": N_("At risk"),
    "breached": N_("Breached"),
    "all": N_("All tickets"),
}
TICKET_LABELS = {"status": STATUS, "priority": PRIORITY, "sla": SLA, "queue": QUEUE}
