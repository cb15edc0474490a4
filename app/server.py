"""Starting uvicorn the one safe way, for `python -m app` (and so `make run`).

Logs go out as JSON with request ids; an open API (no keys) is only served on loopback unless
explicitly allowed; SIGTERM stops accepting connections and lets in-flight requests finish
(up to `DRAIN_SECONDS`) before the store is closed.
"""

from __future__ import annotations

import logging
import sys

import uvicorn
from starlette.types import ASGIApp

from app.logging_setup import configure_logging, uvicorn_log_config
from app.security import check_bind, load_api_keys
from app.settings import Settings

DRAIN_SECONDS = 10
log = logging.getLogger(__name__)


def serve(app: ASGIApp | str, settings: Settings) -> None:
    """Serve `app` (an app or an import string) as settings say; exit 2 on an unsafe bind."""
    configure_logging(settings.log_format)
    try:
        log.info(check_bind(settings, load_api_keys(settings)))
    except (PermissionError, ValueError) as refusal:
        log.error("%s", refusal)
        sys.exit(2)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=uvicorn_log_config(),
        access_log=False,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        timeout_keep_alive=settings.keep_alive_s,
    )
