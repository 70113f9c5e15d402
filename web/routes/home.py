"""The site root and the language switcher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

import i18n
from api.access import public
from web.locale import LANGUAGE_COOKIE

router = APIRouter()


@router.get("/", include_in_schema=False, dependencies=[Depends(public)])
async def root() -> RedirectResponse:
    return RedirectResponse("/portal", status_code=303)


def local_path(target: str) -> str:
    # Only paths on this site: "//evil.example" or "https://…" would make an open redirect.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/language", include_in_schema=False, dependencies=[Depends(public)])
async def choose_language(
    request: Request,
    lang: Annotated[str, Form(max_length=5)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> RedirectResponse:
    response = RedirectResponse(local_path(next), status_code=303)
    if lang in i18n.SUPPORTED:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response
