"""Builds the FastAPI application: `uvicorn app.main:app` or `python -m app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app.api.backpressure import ShedLoad
from app.api.errors import install_error_handlers
from app.api.middleware import BodySizeLimit, RequestMetrics
from app.api.routes import backup, collections, embeddings, health, languages, search
from app.logging_setup import RequestContext
from app.metrics import Metrics
from app.runtime import Runtime
from app.security import load_api_keys
from app.service import SearchService
from app.settings import Settings, get_settings

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> FastAPI:
    """The app; with `service` given it is ready at once (tests), else it loads in background."""
    settings = settings or get_settings()
    runtime = (
        Runtime.with_service(settings, service)
        if service is not None
        else Runtime(settings, Metrics())
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if service is None:
            runtime.start()
        yield
        runtime.close()

    app = FastAPI(
        title="Polyglot Search",
        version="0.1.0",
        summary="Dense cross-lingual retrieval: search passages in hundreds of languages.",
        lifespan=lifespan,
        # A trailing slash is a JSON 404 like any unknown path, not a body-less 307 redirect
        # (`DELETE /v1/collections/` would otherwise be sent to a GET-only route).
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.state.api_keys = load_api_keys(settings)
    install_error_handlers(app)
    for module in (search, embeddings, collections, languages, health, backup):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def demo_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ShedLoad, runtime=runtime)
    app.add_middleware(RequestMetrics, metrics=runtime.metrics)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # closed by default: no CORS headers, browsers keep other origins out
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContext)  # outermost: every response carries the request id
    return app


app = create_app()
