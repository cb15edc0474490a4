from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import RuntimeDep, require_metrics_access
from app.runtime import State
from app.schemas import Health

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up (it may still be loading the model)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready to serve: the model is loaded and the store answers."""
    if runtime.state is State.READY and runtime.service is not None:
        try:
            runtime.service.store.ping()
        except Exception:  # a Qdrant server down, a store closed: not ready
            # The exception can name hosts and paths: it goes to the log, not to the client.
            log.exception("readiness check: the vector store does not answer")
            body = Health(status="error", detail="the vector store does not answer (see the log)")
            return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
        return JSONResponse(Health(status="ok").model_dump())
    loading = runtime.state is State.LOADING
    # runtime.error (the start-up failure, logged in full by the runtime) can hold paths too.
    detail = None if loading else "the service failed to start (see the log)"
    body = Health(status="loading" if loading else "error", detail=detail)
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})


@router.get("/metrics", response_class=Response, dependencies=[Depends(require_metrics_access)])
def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
