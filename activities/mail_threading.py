"""Ids that tie mail to tickets, both ways.

Outbound: every mail about a ticket gets a Message-ID in our domain that names the ticket
(`<tck.{ticket}.{digest}@domain>`), and refers to the ticket's root id, so customers' clients
thread our notifications and their replies come back with ids we can read.
Inbound: an inbound mail's row id, its ticket message id and, when it opens one, its ticket id
are all derived from its Message-ID; whatever path a mail takes, it lands on the same rows.
"""

from __future__ import annotations

import hashlib
import re
import uuid

# Fixed once and for all: changing it would give mail already taken in other ids.
INBOUND_NAMESPACE = uuid.UUID("0b0a3c59-51a4-4d7e-9c1e-3f6f8f6b2a11")
TICKET_REFERENCE = re.compile(r"\[(TCK-\d{4}-\d{6})\]")
_OURS = re.compile(r"^<tck\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})[.@]")


def inbound_id(message_id: str) -> uuid.UUID:
    return uuid.uuid5(INBOUND_NAMESPACE, message_id)


def file_id(inbound: uuid.UUID, position: int) -> uuid.UUID:
    return uuid.uuid5(inbound, f"file:{position}")


def ticket_root_id(ticket_id: uuid.UUID | str, domain: str) -> str:
    """The id every mail about the ticket refers to (never sent itself)."""
    return f"<tck.{ticket_id}@{domain}>"


def ticket_message_id(ticket_id: uuid.UUID | str, key: str, domain: str) -> str:
    """The Message-ID of one mail about a ticket, decided by the mail's idempotency key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"<tck.{ticket_id}.{digest}@{domain}>"


def ticket_in_message_id(message_id: str, domain: str) -> uuid.UUID | None:
    """The ticket one of our Message-IDs names, or None (another domain's id is not ours,
    whatever it looks like)."""
    if not message_id.lower().endswith(f"@{domain.lower()}>"):
        return None
    found = _OURS.match(message_id)
    return uuid.UUID(found.group(1)) if found else None


def ticket_number_in(subject: str) -> str | None:
    found = TICKET_REFERENCE.search(subject)
    return found.group(1) if found else None
