"""Back-office: a staff member marks themselves away or back (POST /staff/availability). Away
agents get no automatic assignments. The form says which state it wants, so submitting it twice
changes nothing; the answer goes back to the page the form was on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from api.access import STAFF, Principal, signed_in
from api.routes.deps import SessionDep, actor_of
from api.support import availability
from web.support_pages import Flag, back_to
from web.templating import translate

router = APIRouter(prefix="/staff", include_in_schema=False)

StaffMember = Annotated[Principal, Depends(signed_in(STAFF))]


def _same_site(path: str) -> str:
    """Only a path of this site (never //elsewhere or a full URL) is a place to go back to."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/staff"


@router.post("/availability")
async def set_availability(
    request: Request, principal: StaffMember, db: SessionDep, away: Flag = "",
    next: Annotated[str, Form(max_length=2000)] = "/staff",
) -> Response:  # fmt: skip
    async with db.begin():
        await availability.set_away(db, actor_of(request), principal.user_id, bool(away))
    if away:
        message = translate(request, "You are away: no tickets are assigned to you automatically.")
    else:
        message = translate(request, "Welcome back: tickets are assigned to you again.")
    return back_to(request, _same_site(next), message)
