"""Loads the encoder and the store off the request path, so the service answers at once.

The one start-up path: `python -m app`, `make run` (which is `python -m app` with
`POLYSEARCH_INDEX_ON_START` naming the demo corpus) and the Docker image all build the encoder,
the store, the encode scheduler and the metrics here, then start the background indexing of
`Settings.index_on_start`, if any (app/background_index.py).

`/healthz` is up as soon as the process is; `/readyz` and the routes that need the model answer
503 until loading has finished (or failed, with the reason).
"""

from __future__ import annotations

import gc
import logging
import threading
from enum import StrEnum

from app.background_index import BackgroundIndexer
from app.backup import GatedStore
from app.encoder import OnnxEncoder
from app.language_codes import language_name
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store import VectorStore, open_store

log = logging.getLogger(__name__)


def freeze_start_up_objects() -> None:
    """Moves every object alive after loading (modules, the tokenizer's and the app's Python
    objects: some 130k) out of the cyclic garbage collector's reach, as long-running servers do
    (`gc.freeze`). Without it, each full collection walks them all inside whichever request
    triggered it: 92 ms on 2 cores as loaded (`python -m bench.search_profile --no-freeze`),
    in 3 of 4 profiled runs of 300 hybrid searches once inside a search. Reference counting
    still frees them; only cycles among them would stay."""
    gc.collect()
    gc.freeze()


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
        self.background: BackgroundIndexer | None = None  # `Settings.index_on_start`'s job

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
            encoder = OnnxEncoder.from_settings(
                s, concurrent_calls=s.encode_calls, solo_queries=True
            )
            # Gated so that a backup can hold writes while it copies the data directory.
            self._store = GatedStore(open_store(s), None if s.qdrant_url else s.data_dir)
            service = SearchService.from_settings(encoder, self._store, self.metrics, s)
            language_name("eng")  # CLDR's names load now (~75 ms), not inside a first search
            freeze_start_up_objects()
            if s.index_on_start is not None:  # known before ready: GET /v1/indexing lists it
                self.background = BackgroundIndexer(
                    s.index_on_start,
                    s.default_collection,
                    service,
                    encode_calls=s.encode_calls,
                    texts_per_call=s.background_encode_texts or encoder.batch_size,
                )
            self._set_ready(service)
            log.info(
                "ready: model %s, dim %d; %d encoder calls at once, %d thread%s each "
                "(a query alone: %d), queue wait at most %d ms, writes at nice +%d",
                encoder.card.name,
                encoder.dim,
                s.encode_calls,
                encoder.threads,
                "" if encoder.threads == 1 else "s",
                encoder.solo_threads,
                s.max_queue_wait_ms,
                s.write_nice,
            )
            if self.background is not None:
                self.background.start()
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
            self.service.encode_queue.close()
            self.service.store.close()
