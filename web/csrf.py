"""CSRF protection for every state-changing request: a double-submit token plus an Origin check.

The token lives in an HttpOnly cookie and is echoed by the page, either as the `csrf_token` form
field (plain forms) or as the `X-CSRF-Token` header that `<body hx-headers>` sets once for htmx.
A request from another origin is refused even when it carries a token. Integrators calling the
JSON API with a bearer token and no cookie are not exposed to CSRF and skip the check.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.auth import SECURE_SESSION_COOKIE, SESSION_COOKIE

CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FORM_BODY_LIMIT = 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie_token = _cookie(headers, CSRF_COOKIE)
        token = cookie_token or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token

        if scope["method"] not in SAFE_METHODS and not _self_authenticating(scope, headers):
            refusal, receive = await self._check(scope, receive, headers, cookie_token)
            if refusal is not None:
                await refusal(scope, receive, send)
                return

        if cookie_token:
            await self.app(scope, receive, send)
            return

        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = SimpleCookie()
                cookie[CSRF_COOKIE] = token
                cookie[CSRF_COOKIE].update({"path": "/", "httponly": True, "samesite": "Lax"})
                if secure:
                    cookie[CSRF_COOKIE]["secure"] = True
                MutableHeaders(scope=message).append("set-cookie", cookie.output(header="").strip())
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _check(
        self, scope: Scope, receive: Receive, headers: Headers, cookie_token: str | None
    ) -> tuple[Response | None, Receive]:
        if not _same_origin(scope, headers):
            return _refuse(scope, "Cross-origin request refused."), receive
        if not cookie_token:
            return _refuse(scope, "Missing CSRF cookie: reload the page and try again."), receive
        sent = headers.get(CSRF_HEADER)
        if sent is None:
            # Uploads may be large; a plain form never needs more than a mebibyte.
            multipart = headers.get("content-type", "").startswith("multipart/")
            limit = self.max_body_bytes if multipart else FORM_BODY_LIMIT
            body = await _read_body(receive, limit)
            if body is None:
                return PlainTextResponse("Request body too large.", status_code=413), receive
            original_receive = receive
            receive = _replay(body, original_receive)
            form = await Request(scope, _replay(body, original_receive)).form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
            await form.close()
        if not sent or not hmac.compare_digest(sent, cookie_token):
            return _refuse(
                scope, "Invalid or missing CSRF token: reload the page and try again."
            ), receive
        return None, receive


def _refuse(scope: Scope, reason: str) -> Response:
    if scope["path"].startswith("/api/"):
        return JSONResponse(
            {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": reason},
            status_code=403,
            media_type="application/problem+json",
        )
    return PlainTextResponse(reason, status_code=403)


def _self_authenticating(scope: Scope, headers: Headers) -> bool:
    """A call that carries its own credentials and no session cookie: a bearer token, or an
    /api/ JSON body (POST /api/v1/auth/token sends the password in it). A forged request would
    ride on nothing the browser adds by itself, and a browser cannot send either cross-origin
    without a CORS preflight we never grant. A stray `csrftoken` cookie kept by an integrator's
    HTTP client does not count: it authenticates nobody."""
    if _cookie(headers, SESSION_COOKIE) or _cookie(headers, SECURE_SESSION_COOKIE):
        return False
    if headers.get("authorization", "").lower().startswith("bearer "):
        return True
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    return scope["path"].startswith("/api/") and media_type == "application/json"


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is the client's problem, not a 500
        return None
    morsel = jar.get(name)
    return morsel.value if morsel and morsel.value else None


def _same_origin(scope: Scope, headers: Headers) -> bool:
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        # Browsers send Origin on every cross-site POST; its absence means a non-browser client,
        # which the token check still covers.
        return source != "null"
    host = headers.get("host", "")
    parts = urlsplit(source)
    return parts.netloc == host and parts.scheme == scope.get("scheme", "http")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """Hand the buffered body downstream once, then the real channel (for disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
