"""Helpers for the security tests: the route table as declared (every `Access` of every route),
a second copy of the web app on its own port, and clients that come from their own IP address.

Routes are read from the application itself, never from a list of today's URLs, so a page added
tomorrow is checked by the same tests.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from api.access import CUSTOMER, STAFF, Access
from api.settings import Settings
from cli.ports import free_port
from web.app import create_app

try:  # FastAPI >= 0.16x keeps included routers unflattened in `app.routes`
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI: `app.routes` is already flat
    iter_route_contexts = None

AREAS = ("/portal", "/staff", "/admin")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PATH_PARAM = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class DeclaredRoute:
    """One (path, methods) of the app with every `Access` its dependencies declare."""

    path: str
    methods: frozenset[str]
    accesses: tuple[Access, ...]
    name: str

    def __str__(self) -> str:
        return f"{'|'.join(sorted(self.methods))} {self.path} ({self.name})"

    @property
    def declared(self) -> bool:
        return bool(self.accesses)

    @property
    def public(self) -> bool:
        return self.declared and all(access.public for access in self.accesses)

    @property
    def has_path_params(self) -> bool:
        return "{" in self.path

    @property
    def area(self) -> str | None:
        return next(
            (area for area in AREAS if self.path == area or self.path.startswith(area + "/")),
            None,
        )

    def concrete_path(self) -> str:
        """The path with every parameter replaced by a random uuid."""
        return _PATH_PARAM.sub(lambda _: str(uuid.uuid4()), self.path)

    def permissions(self) -> set[str]:
        return {access.permission for access in self.accesses if access.permission}

    def allows(self, scope: str, granted: frozenset[str] | set[str]) -> bool:
        """Whether a fully signed-in user of that scope ("staff"/"customer") with these
        permissions passes every `Access` the route declares."""
        for access in self.accesses:
            if access.public:
                continue
            if access.pending_second_factor:
                return False  # only a half-signed-in user gets through
            if access.area == STAFF and scope != "staff":
                return False
            if access.area == CUSTOMER and scope != "customer":
                return False
            if access.permission and access.permission not in granted:
                return False
        return True


def _accesses(dependant) -> Iterator[Access]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            yield dependency.call
        yield from _accesses(dependency)


def flat_routes(app: FastAPI) -> Iterator[tuple[BaseRoute, object]]:
    """(original route, the effective route carrying the combined path and dependencies)."""
    if iter_route_contexts is None:
        for route in app.routes:
            yield route, route
        return
    for context in iter_route_contexts(app.routes):
        yield context.original_route, context


def api_routes(app: FastAPI) -> list[DeclaredRoute]:
    routes = []
    for original, effective in flat_routes(app):
        if isinstance(original, APIRoute):
            routes.append(
                DeclaredRoute(
                    path=effective.path_format,
                    methods=frozenset(effective.methods or ()),
                    accesses=tuple(_accesses(effective.dependant)),
                    name=effective.name,
                )
            )
    return routes


def other_routes(app: FastAPI) -> list[BaseRoute]:
    return [original for original, _ in flat_routes(app) if not isinstance(original, APIRoute)]


def area_pages(app: FastAPI) -> list[DeclaredRoute]:
    """Every GET page of /portal, /staff and /admin that needs no path parameter."""
    return [
        route
        for route in api_routes(app)
        if route.area and "GET" in route.methods and not route.has_path_params
    ]


# -- clients and servers -------------------------------------------------------------------------


def new_ip() -> str:
    """An address of 10/8 for one test: uvicorn trusts X-Forwarded-For from 127.0.0.1 (its
    default `forwarded_allow_ips`), so brute-force counters of one test touch no other test."""
    return "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))


def client_from(base_url: str, ip: str | None = None, **options) -> httpx.AsyncClient:
    headers = {"X-Forwarded-For": ip or new_ip(), "Accept-Language": "en"}
    headers.update(options.pop("headers", {}))
    return httpx.AsyncClient(
        base_url=base_url, follow_redirects=False, timeout=30, headers=headers, **options
    )


@asynccontextmanager
async def serve(settings: Settings, **changes) -> AsyncIterator[str]:
    """Another instance of the web app, with `changes` to its settings, on a free port."""
    port = free_port()
    app_settings = settings.model_copy(update={**changes, "web_port": port})
    config = uvicorn.Config(
        create_app(app_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
