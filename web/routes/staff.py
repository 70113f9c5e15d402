"""Back-office (/staff)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.access import STAFF, signed_in
from web.staff_sidebar import load_ticket_queue_counts
from web.templating import render

router = APIRouter(
    prefix="/staff", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)


@router.get("", dependencies=[Depends(load_ticket_queue_counts)])
async def staff_home(request: Request) -> Response:
    return render(request, "staff/home.html")
