"""The route table, read from the application: every route declares who may call it, every
state-changing route refuses a request without a CSRF token, and the role × page matrix holds
for each built-in role (and for anonymous visitors)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from starlette.routing import Mount, Route

from api.identity import roles
from api.permissions import BUILTIN_ROLES
from tests.support.security import UNSAFE_METHODS, api_routes, area_pages, other_routes
from web.app import create_app


@pytest.fixture(scope="module")
def app(settings):
    return create_app(settings)


def test_the_route_walk_sees_the_whole_application(app):
    paths = {route.path for route in api_routes(app)}

    assert {"/login", "/logout", "/portal", "/staff", "/admin"} <= paths
    assert {route.path for route in area_pages(app)} >= {"/portal", "/staff", "/admin"}
    # The agents' desk: its list is walked like every page; its pages with ids are declared.
    assert "/staff/tickets" in {route.path for route in area_pages(app)}
    assert {"/staff/tickets/{ticket_id}", "/staff/tickets/bulk/{bulk_id}"} <= paths


def test_every_route_declares_its_access(app):
    undeclared = [str(route) for route in api_routes(app) if not route.declared]

    assert not undeclared, "routes without an api.access.Access dependency:\n" + "\n".join(
        undeclared
    )


def test_only_the_static_mount_and_the_openapi_schema_are_not_api_routes(app):
    unexpected = [
        f"{type(route).__name__} {getattr(route, 'path', '?')}"
        for route in other_routes(app)
        if not (isinstance(route, Mount) and route.path == "/static")
        and not (isinstance(route, Route) and route.path == app.openapi_url)
    ]

    assert not unexpected, "routes outside the access declarations:\n" + "\n".join(unexpected)


async def test_every_state_changing_route_refuses_a_request_without_csrf_token(app, signed_in):
    client = await signed_in("admin")
    assert client.cookies.get("csrftoken") and client.cookies.get("cm_session")
    accepted = []
    for route in api_routes(app):
        for method in sorted(route.methods & UNSAFE_METHODS):
            path = route.concrete_path()
            body = {"json": {"x": "1"}} if path.startswith("/api/") else {"data": {"x": "1"}}
            answer = await client.request(method, path, **body)
            if answer.status_code != 403 or "CSRF" not in answer.text:
                accepted.append(f"{method} {path}: {answer.status_code} {answer.text[:120]!r}")

    assert not accepted, "answered without a CSRF token:\n" + "\n".join(accepted)


async def test_every_state_changing_route_refuses_another_origin_even_with_the_token(
    app, signed_in
):
    client = await signed_in("admin")
    token = client.cookies["csrftoken"]
    accepted = []
    for route in api_routes(app):
        for method in sorted(route.methods & UNSAFE_METHODS):
            path = route.concrete_path()
            answer = await client.request(
                method,
                path,
                data={"csrf_token": token},
                headers={"Origin": "https://evil.example", "X-CSRF-Token": token},
            )
            if answer.status_code != 403 or "Cross-origin" not in answer.text:
                accepted.append(f"{method} {path}: {answer.status_code} {answer.text[:120]!r}")

    assert not accepted, "answered a cross-origin request:\n" + "\n".join(accepted)


def _area_rule(scope: str, area: str) -> bool:
    """The coarse rule, independent of what a route declares: customers never in the
    back-office or the admin console, staff never in the portal."""
    return (area == "/portal") == (scope == "customer")


@pytest.mark.parametrize("role", [role.key for role in BUILTIN_ROLES])
async def test_each_role_reaches_exactly_the_pages_its_permissions_allow(
    app, role, signed_in, sessionmaker
):
    client = await signed_in(role)
    async with sessionmaker() as db:
        role_row = await roles.role_by_key(db, role)
    scope, granted = role_row.scope.value, frozenset(role_row.permissions)

    wrong = []
    for page in area_pages(app):
        allowed = page.allows(scope, granted)
        if allowed and not _area_rule(scope, page.area):
            wrong.append(f"{page} lets a {scope} user into {page.area} (declares {page.accesses})")
            continue
        answer = await client.get(page.path)
        location = answer.headers.get("location", "")
        if allowed:
            ok = answer.status_code == 200 or (
                answer.is_redirect and not location.startswith("/login")
            )
            expectation = "200 or a redirect"
        else:
            ok = answer.status_code == 403
            expectation = f"403 (needs {sorted(page.permissions()) or page.accesses})"
        if not ok:
            wrong.append(f"{role} GET {page.path}: {answer.status_code} {location}, {expectation}")

    assert not wrong, "\n".join(wrong)


async def test_anonymous_visitor_is_sent_to_sign_in_from_every_area_page(app, web_url):
    async with httpx.AsyncClient(base_url=web_url, follow_redirects=False) as anonymous:
        wrong = []
        for page in area_pages(app):
            answer = await anonymous.get(page.path)
            expected = f"/login?next={quote(page.path, safe='')}"
            if answer.status_code != 303 or answer.headers.get("location") != expected:
                wrong.append(f"GET {page.path}: {answer.status_code} {answer.headers}")

    assert not wrong, "\n".join(wrong)


async def test_anonymous_api_call_to_a_non_public_route_is_a_401_problem(app, web_url):
    """Safe methods with no credentials at all; state-changing ones with a bearer token that
    is not valid and no cookie (with a cookie, or without any credential, CSRF refuses first)."""
    async with httpx.AsyncClient(base_url=web_url, follow_redirects=False) as anonymous:
        wrong = []
        for route in api_routes(app):
            # Undeclared routes are the declaration test's failure, not this one's.
            if not route.path.startswith("/api/v1") or route.public or not route.declared:
                continue
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                headers = {}
                if method in UNSAFE_METHODS:
                    headers["Authorization"] = "Bearer not-a-valid-token"
                answer = await anonymous.request(method, route.concrete_path(), headers=headers)
                problem = answer.headers.get("content-type") == "application/problem+json"
                if answer.status_code != 401 or not problem or answer.json()["status"] != 401:
                    wrong.append(f"{method} {route.path}: {answer.status_code} {answer.text[:120]}")

    assert not wrong, "non-public API routes answering anonymous callers:\n" + "\n".join(wrong)
