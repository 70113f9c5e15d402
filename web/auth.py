"""Who is calling: the session cookie (or, on /api/, a bearer token) resolved once per request
into `request.state.principal`; the session cookie itself. Route guards are in `api.access`."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.access import Principal
from api.identity import api_tokens, roles, sessions
from db.models import Session, User
from web.database import is_app_request, request_autocommit

SESSION_COOKIE = "cm_session"
# Over https the cookie is `__Host-` prefixed: the browser then insists on Secure, Path=/ and no
# Domain, so a sibling subdomain cannot plant or read it.
SECURE_SESSION_COOKIE = "__Host-cm_session"


def session_token(connection: HTTPConnection) -> str | None:
    return connection.cookies.get(SECURE_SESSION_COOKIE) or connection.cookies.get(SESSION_COOKIE)


class AuthMiddleware:
    """Loads the principal (or the half-signed-in user of a two-step login) into request.state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_app_request(scope):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = None
        state["pending"] = None
        connection = HTTPConnection(scope)
        bearer = _bearer(connection)
        if bearer and scope["path"].startswith("/api/"):
            await self._load_bearer(scope, state, bearer)
            await self.app(scope, receive, send)
            return
        token = session_token(connection)
        if token:
            async with request_autocommit(connection) as db:
                resolved = await sessions.resolve_session(
                    db, token, scope["app"].state.settings.session_policy
                )
                if resolved is not None:
                    record, user = resolved
                    state["user"] = user
                    if record.pending_second_factor:
                        state["pending"] = (record, user)
                    else:
                        granted, _ = await roles.permissions_of(db, user.id)
                        state["principal"] = Principal(user, record, granted)
            _forget_loaded(db)
        await self.app(scope, receive, send)

    @staticmethod
    async def _load_bearer(scope: Scope, state: dict, bearer: str) -> None:
        async with request_autocommit(HTTPConnection(scope)) as db:
            try:
                identity = await api_tokens.resolve_bearer(
                    db, scope["app"].state.settings.secret, bearer
                )
            except api_tokens.TokenRefused as refused:
                state["bearer_refused"] = str(refused)
                return
            finally:
                _forget_loaded(db)
        state["user"] = identity.user
        state["principal"] = Principal(identity.user, None, identity.permissions)


def _forget_loaded(db: AsyncSession) -> None:
    """The route shares this session (web.database): it starts, as with a session of its own,
    from an empty identity map, so its queries read the rows afresh (a `FOR UPDATE` included)
    instead of the user and session loaded here. These stay in request.state, detached."""
    db.expunge_all()


def _bearer(connection: HTTPConnection) -> str | None:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def pending_sign_in(request: Request) -> tuple[Session, User]:
    return request.state.pending


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SECURE_SESSION_COOKIE if secure else SESSION_COOKIE,
        token,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
        # No max_age: the server decides expiry; the browser forgets it when it closes.
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(SECURE_SESSION_COOKIE, path="/", secure=True)


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"
