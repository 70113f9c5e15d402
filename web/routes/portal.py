"""Customer portal (/portal)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.access import CUSTOMER, signed_in
from web.templating import render

router = APIRouter(
    prefix="/portal", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)


@router.get("")
async def portal_home(request: Request) -> Response:
    return render(request, "portal/home.html")
