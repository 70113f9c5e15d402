"""Flash messages: a signed, short-lived cookie written on a redirect and read on the next page.

Signed so a crafted cookie cannot inject markup or text; escaped anyway when rendered.
"""

from __future__ import annotations

from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

FLASH_COOKIE = "flash"
Category = Literal["success", "info", "warning", "error"]


def _serializer(request: Request) -> URLSafeSerializer:
    secret = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeSerializer(secret, salt="flash")


def flash(request: Request, response: Response, message: str, category: Category = "info") -> None:
    pending = [*pending_flashes(request), {"category": category, "message": message}]
    response.set_cookie(
        FLASH_COOKIE,
        _serializer(request).dumps(pending[-5:]),
        max_age=60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def pending_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        value = _serializer(request).loads(raw)
    except BadSignature:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def consume_flashes(request: Request, response: Response) -> None:
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE)
