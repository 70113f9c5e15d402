"""Customer portal (/portal)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.templating import render

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("")
async def portal_home(request: Request) -> Response:
    return render(request, "portal/home.html")
