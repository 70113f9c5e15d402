"""Bulk actions from the ticket list: POST /staff/tickets/bulk starts one (`api.ticket_bulk`) and
redirects to its progress page, /staff/tickets/bulk/{id}.

The progress page polls its own fragment with htmx every second while the work runs and stops
when it is done; without JavaScript a <noscript> refresh reloads the page, and a link does the
same by hand. A refused form shows the list again with the agent's selection kept (422).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api.access import STAFF, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep
from api.ticket_bulk import BulkForm, BulkNotAllowed, bulk_progress, start_bulk
from api.tickets import REFUSALS
from db.models import User
from db.queries.tickets import ticket_titles
from web import ticket_labels
from web.forms import TEXT_LIMIT, field_errors
from web.routes.staff_tickets import BulkState, Viewer, form_of_address, list_page
from web.staff_sidebar import load_ticket_queue_counts
from web.templating import render, translate
from workflows.ticket_bulk import BulkProgress

router = APIRouter(
    prefix="/staff/tickets/bulk",
    include_in_schema=False,
    dependencies=[Depends(signed_in(STAFF))],
)

Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
POLL_SECONDS = 1


@router.post("")
async def bulk_start(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    ticket: Annotated[list[str] | None, Form(max_length=64)] = None,
    action: Text = "",
    assignee: Text = "",
    status: Text = "",
    priority: Text = "",
    tag: Text = "",
    request_id: Text = "",
    back: Text = "/staff/tickets",
) -> Response:
    form = BulkForm(request_id, action, ticket or [], assignee, status, priority, tag)
    try:
        bulk_id = await start_bulk(db, client, settings, principal, form)
    except BulkNotAllowed as refused:
        raise HTTPException(status_code=403) from refused
    except InputError as problem:
        list_form, page = await form_of_address(back)
        kept = {"assignee": assignee, "status": status, "priority": priority, "tag": tag}
        state = BulkState(kept, frozenset(ticket or []), field_errors(request, problem))
        return await list_page(request, principal, db, settings, list_form, page, state)
    return RedirectResponse(f"/staff/tickets/bulk/{bulk_id}", status_code=303)


@router.get("/{bulk_id}", dependencies=[Depends(load_ticket_queue_counts)])
async def bulk_page(
    request: Request, bulk_id: str, principal: Viewer, db: SessionDep, client: TemporalDep
) -> Response:
    run = await bulk_progress(client, principal, bulk_id)
    if run is None:
        raise HTTPException(status_code=404)
    progress = run.progress
    keys = [uuid.UUID(outcome.ticket_id) for outcome in progress.outcomes]
    assignee = (
        await db.get(User, uuid.UUID(progress.value)) if progress.action == "assign" else None
    )
    return render(
        request,
        "staff/tickets/bulk.html",
        {
            "bulk_id": bulk_id,
            "progress": progress,
            "run": run,
            "tickets": await ticket_titles(db, keys),
            "action_label": _action_label(request, progress, assignee),
            "refusals": REFUSALS,
            "poll_seconds": POLL_SECONDS,
        },
        block="progress",
    )


def _action_label(request: Request, progress: BulkProgress, assignee: User | None) -> str:
    action, value = progress.action, progress.value
    if action == "status":
        status = translate(request, ticket_labels.STATUS.get(value, value))
        return translate(request, "Set the status to %(status)s", status=status)
    if action == "priority":
        priority = translate(request, ticket_labels.PRIORITY.get(value, value))
        return translate(request, "Set the priority to %(priority)s", priority=priority)
    if action == "tag":
        return translate(request, "Add the tag %(tag)s", tag=value)
    if action == "close":
        return translate(request, "Close")
    name = assignee.full_name if assignee else value
    return translate(request, "Assign to %(name)s", name=name)
