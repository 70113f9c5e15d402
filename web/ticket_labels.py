"""Words for the ticket vocabulary (statuses, priorities, SLA states, queues), marked for
extraction and translated where they are shown: in templates through the `TICKET_LABELS`
global (`_(TICKET_LABELS.status[ticket.status])`), in Python with `translate(request, …)`."""

from __future__ import annotations

from i18n import N_
from workflows import ticket_rules

# The vocabulary's own words live beside the rules (the notifications use them too).
STATUS = ticket_rules.STATUS_LABELS
PRIORITY = ticket_rules.PRIORITY_LABELS
SLA = ticket_rules.SLA_STATE_LABELS
QUEUE = {
    "mine": N_("My tickets"),
    "unassigned": N_("Unassigned"),
    "my_groups": N_("My groups"),
    "at_risk": N_("At risk"),
    "breached": N_("Breached"),
    "all": N_("All tickets"),
}
TICKET_LABELS = {"status": STATUS, "priority": PRIORITY, "sla": SLA, "queue": QUEUE}
