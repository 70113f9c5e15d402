"""Errors in words: HTML pages in the site's style for people, problem+json (RFC 9457) for APIs."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.access import AccessDenied, SignInRequired
from i18n import N_
from web.auth import sign_in_url
from web.templating import is_fragment_request, render, translate

log = logging.getLogger(__name__)

GENERIC_TITLE = N_("Error")
TITLES = {
    400: N_("Bad request"),
    401: N_("Sign-in required"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    413: N_("Request too large"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Service unavailable"),
}
EXPLANATIONS = {
    403: N_("You do not have permission to see this page."),
    404: N_("The page you asked for does not exist or has moved."),
    500: N_("An unexpected error happened on our side. It has been logged; please try again."),
}


def problem(status: int, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, GENERIC_TITLE), "status": status}
    body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _error_page(request: Request, status: int, detail: str | None = None) -> Response:
    title = translate(request, TITLES.get(status, GENERIC_TITLE))
    explanation = detail or translate(request, EXPLANATIONS.get(status, TITLES.get(status, "")))
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "explanation": explanation},
        status_code=status,
    )


async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    if _wants_json(request):
        response = problem(error.status_code, str(error.detail), **getattr(error, "extensions", {}))
    else:
        detail = error.detail if isinstance(error.detail, str) and error.status_code < 500 else None
        if detail and detail == HTTPStatus(error.status_code).phrase:
            detail = None  # Starlette's generic phrase: our explanation says it better
        response = _error_page(request, error.status_code, detail)
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def validation_error(request: Request, error: RequestValidationError) -> Response:
    if _wants_json(request):
        errors = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
            for item in error.errors()
        ]
        return problem(422, "The request is not valid.", errors=errors)
    return _error_page(request, 422, translate(request, "The submitted data is not valid."))


async def unhandled_error(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if _wants_json(request):
        return problem(500, "Internal server error.")
    return _error_page(request, 500)


async def sign_in_required(request: Request, _: SignInRequired) -> Response:
    if _wants_json(request):
        detail = getattr(request.state, "bearer_refused", None) or "Authentication required."
        response = problem(401, detail)
        response.headers["WWW-Authenticate"] = 'Bearer realm="cloudmanager"'
        return response
    if is_fragment_request(request):
        # htmx would swap a sign-in page into a fragment: ask it to navigate instead.
        return Response(status_code=401, headers={"HX-Redirect": sign_in_url(request)})
    return RedirectResponse(sign_in_url(request), status_code=303)


async def access_denied(request: Request, _: AccessDenied) -> Response:
    if _wants_json(request):
        return problem(403, "You do not have permission for this.")
    return _error_page(request, 403)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(AccessDenied, access_denied)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unhandled_error)
