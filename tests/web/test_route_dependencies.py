"""No route waits for a thread: FastAPI runs a dependency written as a plain function in its
thread pool, and on a busy two-CPU server the hand-over to a thread and back cost each request
more than its smaller queries. Every dependency of every route is a coroutine (or an async
generator), including what they depend on in turn."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from tests.support.security import flat_routes
from web.app import create_app


def _runs_on_the_event_loop(call) -> bool:
    if inspect.isclass(call):  # a class dependency is constructed: a plain call, no await
        return False
    function = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def _threaded(dependant) -> set[str]:
    found = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None and not _runs_on_the_event_loop(dependency.call):
            found.add(getattr(dependency.call, "__qualname__", repr(dependency.call)))
        found |= _threaded(dependency)
    return found


def test_no_route_dependency_runs_in_the_thread_pool(settings):
    app = create_app(settings)
    threaded = {
        f"{effective.path_format}: {name}"
        for original, effective in flat_routes(app)
        if isinstance(original, APIRoute)
        for name in _threaded(effective.dependant)
    }

    assert not threaded, "plain-function dependencies:\n" + "\n".join(sorted(threaded))
