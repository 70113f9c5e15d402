"""For the back-office ticket page tests: a ticket opened through its real workflow in a desk
of its own, and forms posted the way the page posts them (CSRF token, fresh request id)."""

from __future__ import annotations

import uuid

from api import tickets
from tests.support.desks import Desk, make_desk
from workflows.ticket_messages import Author, TicketView

EN = {"Accept-Language": "en"}
REQUESTER = Author(None, "Amina Benali", "customer")


async def open_ticket(
    temporal_client, settings, sessionmaker, *, desk: Desk | None = None, agent_ids=(), **fields
) -> TicketView:
    desk = desk or await make_desk(sessionmaker, agent_ids=list(agent_ids))
    return await tickets.open_ticket(
        temporal_client, settings, desk.open_request(REQUESTER, **fields)
    )


async def post_form(client, path: str, data: dict | None = None, files=None, **options):
    """POST like the page's form: the CSRF token and a new request id unless given."""
    values = {"csrf_token": client.cookies["csrftoken"], "request_id": str(uuid.uuid4())}
    values.update(data or {})
    return await client.post(path, data=values, files=files, headers=EN, **options)
