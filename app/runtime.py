"""Loads the encoder and the store off the request path, so the service answers at once.

`/healthz` is up as soon as the process is; `/readyz` and the routes that need the model answer
503 until loading has finished (or failed, with the reason).
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum

from app.backup import GatedStore
from app.encoder import OnnxEncoder
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store import VectorStore, open_store

log = logging.getLogger(__name__)


class State(StrEnum):
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


class Runtime:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.state = State.LOADING
        self.error: str | None = None
        self.service: SearchService | None = None
        self._store: VectorStore | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def with_service(cls, settings: Settings, service: SearchService) -> Runtime:
        runtime = cls(settings, service.metrics)
        runtime._set_ready(service)
        return runtime

    def start(self) -> None:
        self._thread = threading.Thread(target=self._load, name="runtime-loader", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> State:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state

    def _load(self) -> None:
        s = self.settings
        try:
            log.info("loading model %s (%s) from %s", s.model, s.model_variant, s.model_dir)
            encoder = OnnxEncoder.from_settings(s, concurrent_calls=s.encode_calls)
            # Gated so that a backup can hold writes while it copies the data directory.
            self._store = GatedStore(open_store(s), None if s.qdrant_url else s.data_dir)
            self._set_ready(SearchService.from_settings(encoder, self._store, self.metrics, s))
            log.info("ready: model %s, dim %d", encoder.card.name, encoder.dim)
        except Exception as exc:  # any failure must surface in /readyz, not kill the server
            log.exception("loading failed")
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = State.ERROR

    def _set_ready(self, service: SearchService) -> None:
        self.service = service
        self.state = State.READY
        self.metrics.ready.set(1)

    def close(self) -> None:
        if self.service is not None:
            self.service.store.close()
