"""Route dependencies as `Annotated` aliases, so signatures read like sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.errors import ApiError
from app.runtime import Runtime, State
from app.service import SearchService
from app.settings import Settings


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def get_service(request: Request) -> SearchService:
    runtime = get_runtime(request)
    if runtime.state is not State.READY or runtime.service is None:
        reason = runtime.error or "the model is still loading"
        raise ApiError(503, "not_ready", f"service not ready: {reason}", {"Retry-After": "5"})
    return runtime.service


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[SearchService, Depends(get_service)]
