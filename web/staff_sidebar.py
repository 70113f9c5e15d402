"""The back-office sidebar's ticket queue counts, loaded by a dependency the staff pages declare
(`dependencies=[Depends(load_ticket_queue_counts)]`) and read by `staff/_ticket_queues.html`.

The counts decorate every staff page, so they must never cost much nor break one: they are
skipped for people without `tickets.view`, for htmx fragments (which do not redraw the sidebar)
and for anything but GET; they are read from tallies the ticket writes keep (see
`db.queries.tickets.queue_counts`), and a database error leaves the links without numbers
instead of failing the page.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from db.queries.tickets import queue_counts
from web.database import request_autocommit
from web.templating import is_fragment_request

logger = logging.getLogger(__name__)


async def load_ticket_queue_counts(request: Request) -> None:
    principal = getattr(request.state, "principal", None)
    if (
        request.method != "GET"
        or is_fragment_request(request)
        or principal is None
        or not principal.is_staff
        or not principal.can("tickets.view")
    ):
        return
    try:
        # The request's session (web.database), in autocommit: one read, and a route that opens
        # `db.begin()` later must find no transaction already running.
        async with request_autocommit(request) as db:
            request.state.ticket_queue_counts = await queue_counts(db, principal.user_id)
    except (SQLAlchemyError, OSError):
        logger.warning("ticket queue counts unavailable", exc_info=True)
