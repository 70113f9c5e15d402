"""Helpdesk configuration ("Support" in the admin console): ticket categories, support groups
and their members, business calendars and holidays, SLA policies and escalation levels, canned
replies, agents' availability, and the defaults every installation starts with.

One module per kind of record; each function takes the caller's session and audit `Actor`,
checks the whole form first (`InputError` per field, nothing written), writes its audit row in
the caller's transaction, and leaves the commit to the caller.
"""

from api.support.defaults import ensure_support_defaults

__all__ = ["ensure_support_defaults"]
