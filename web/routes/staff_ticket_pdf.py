"""Back-office, one ticket as a PDF (/staff/tickets/{id}/export.pdf): its properties and its
whole history, internal notes included and marked as such (this export is for staff; customers
never get one with notes). The export is on the audit trail.

WeasyPrint is CPU work of a few hundred milliseconds: it runs in a worker thread, never on the
event loop that serves every other request.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from weasyprint import HTML

from api import audit
from api.access import STAFF, signed_in
from api.routes.deps import SessionDep, actor_of
from db.models import Customer, SupportGroup, TicketCategory, User
from db.queries.ticket_timeline import staff_timeline
from web import ticket_labels
from web.routes.staff_ticket import Viewer, load_ticket
from web.templating import locale_of, templates

router = APIRouter(
    prefix="/staff/tickets", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)


def _pdf(document: str) -> bytes:
    return HTML(string=document).write_pdf()


@router.get("/{ticket_id}/export.pdf")
async def ticket_pdf(
    request: Request, ticket_id: str, principal: Viewer, db: SessionDep
) -> Response:
    ticket = await load_ticket(db, principal, ticket_id)

    async def name_of(model, key) -> str:
        row = await db.get(model, key) if key else None
        if row is None:
            return ""
        return row.full_name if isinstance(row, User) else row.name

    document = templates.env.get_template("staff/tickets/export.html").render(
        request=request,
        locale=locale_of(request),
        ticket=ticket,
        customer=await name_of(Customer, ticket.customer_id),
        requester=await name_of(User, ticket.requester_id),
        assignee=await name_of(User, ticket.assignee_id),
        group=await name_of(SupportGroup, ticket.group_id),
        category=await name_of(TicketCategory, ticket.category_id),
        timeline=await staff_timeline(db, ticket.id),
        statuses=ticket_labels.STATUS,
        priorities=ticket_labels.PRIORITY,
        exported_at=datetime.now(UTC),
        exported_by=principal.user.full_name,
    )
    await db.commit()  # ends the reads (a rollback would expire the ticket used below)
    async with db.begin():
        audit.record(
            db, actor_of(request), "ticket.exported", target_type="ticket",
            target_id=ticket.id, after={"format": "pdf", "internal_notes": True},
        )  # fmt: skip
    content = await asyncio.to_thread(_pdf, document)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{ticket.number}.pdf"',
            "Cache-Control": "no-store",
        },
    )
