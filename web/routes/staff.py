"""Back-office (/staff)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("")
async def staff_home(request: Request) -> Response:
    return render(request, "staff/home.html")
