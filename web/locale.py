"""Which language a request is served in: the user's choice, then the `lang` cookie set by the
language switcher, then Accept-Language, then the installation default."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

import i18n

LANGUAGE_COOKIE = "lang"


def choose_locale(connection: HTTPConnection, default: str) -> str:
    user = connection.scope.get("state", {}).get("user")
    if user is not None and getattr(user, "locale", None) in i18n.SUPPORTED:
        return user.locale
    cookie = connection.cookies.get(LANGUAGE_COOKIE)
    if cookie in i18n.SUPPORTED:
        return cookie
    return i18n.from_accept_language(connection.headers.get("accept-language"), default)


class LocaleMiddleware:
    def __init__(self, app: ASGIApp, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["locale"] = choose_locale(
                HTTPConnection(scope), self.default
            )
        await self.app(scope, receive, send)
