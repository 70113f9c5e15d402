"""Back-office, linking a ticket to its customer (/staff/tickets/{id}/customer): the form in the
properties panel of a ticket from the "unknown senders" queue. The agent gives the address of
the customer's user who wrote; the ticket moves to that customer (api.ticket_customer) and the
page comes back with a flash, or again with the reason and the address kept (422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import tickets
from api.access import STAFF, Principal, require, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, TemporalDep, actor_of
from api.ticket_customer import link_to_contact
from api.ticket_input import request_key
from db.inbound_mail import UNKNOWN_SENDERS_ID
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors
from web.routes.staff_ticket import load_ticket, page_url, ticket_page
from web.templating import templates, translate

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)
Editor = Annotated[Principal, Depends(require("tickets.assign", area=STAFF))]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
# The panel offers the form on the tickets of this queue.
templates.env.globals["UNKNOWN_SENDERS_ID"] = UNKNOWN_SENDERS_ID


@router.post("/{ticket_id}/customer")
async def link_customer(
    request: Request, ticket_id: str, principal: Editor, db: SessionDep,
    temporal: TemporalDep, request_id: Text = "", address: Text = "",
) -> Response:  # fmt: skip
    ticket = await load_ticket(db, principal, ticket_id)
    key = request_key(principal, request_id, ticket.id)
    try:
        view = await link_to_contact(
            temporal, db, actor_of(request), tickets.author_of(principal), ticket, address, key
        )
    except InputError as problem:
        message = field_errors(request, problem)["customer"]
    except tickets.TicketRefused as refused:
        message = translate(request, refused.message)
    else:
        response = RedirectResponse(page_url(ticket), status_code=303)
        done = translate(request, "Ticket %(number)s linked to its customer.", number=view.number)
        flash(request, response, done, "success")
        return response
    await db.rollback()
    ticket = await load_ticket(db, principal, ticket_id)
    return await ticket_page(
        request, db, principal, ticket, forms={"customer": {"address": address}},
        errors={"customer": message}, status_code=422,
    )  # fmt: skip
