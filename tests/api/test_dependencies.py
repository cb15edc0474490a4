"""Every dependency of every route is `async def` (or a FastAPI security scheme, whose
`__call__` is): FastAPI runs a plain `def` dependency in its thread pool, a hand-off to
another thread and back on every request for what takes microseconds (app/api/deps.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import app.api.routes


def _routes() -> Iterator[APIRoute]:
    for module_info in pkgutil.iter_modules(app.api.routes.__path__):
        module = importlib.import_module(f"app.api.routes.{module_info.name}")
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                yield route


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _runs_on_the_event_loop(call: object) -> bool:
    method = getattr(call, "__call__", None)  # noqa: B004 - a scheme instance's method
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(method)


def test_no_route_dependency_runs_in_the_thread_pool() -> None:
    routes = list(_routes())
    assert "/v1/search" in {route.path for route in routes}
    offenders = {
        f"{route.path}: {getattr(sub.call, '__qualname__', sub.call)}"
        for route in routes
        for sub in _dependencies(route.dependant)
        if sub.call is not None and not _runs_on_the_event_loop(sub.call)
    }
    assert not offenders, sorted(offenders)
