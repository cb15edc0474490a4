"""Start-up indexing of a corpus (`Settings.index_on_start`), in the service's own process.

`make run` serves at once and fills the demo collection meanwhile. The job goes through the
same encode scheduler as requests, at `Priority.BACKGROUND` (after queries and writes, aging
so that it still moves; with several encoder calls at once it fills the cores that queries leave
idle), and reports its progress in the log and on /metrics
(`polysearch_background_index_*`). Documents already stored unchanged are skipped, so a
restart resumes where the last run stopped. Readiness does not wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.documents.record import Record
from app.documents.records import Rejected, read_records
from app.documents.writer import DEFAULT_BATCH_SIZE, index_records
from app.encode_queue import Priority
from app.schemas import IndexingJob, JobState
from app.service import SearchService
from app.store.base import EncoderMismatchError

log = logging.getLogger(__name__)
LOG_EVERY_S = 10.0


class BackgroundIndexer:
    def __init__(
        self,
        source: Path,
        collection: str,
        service: SearchService,
        batch_size: int = DEFAULT_BATCH_SIZE,
        encode_calls: int = 1,
        texts_per_call: int | None = None,
    ) -> None:
        """`encode_calls` encoder calls of `texts_per_call` passages (default: the service's
        `write_encode_texts`) may queue at once; more than one takes the idle cores (at a lower
        CPU priority than searches, which have slots of their own: app/encode_queue.py)."""
        self.source = source
        self.collection = collection
        self.service = service
        self.batch_size = batch_size
        self.encode_calls = encode_calls
        self.texts_per_call = texts_per_call
        self.rejected = 0
        self._thread: threading.Thread | None = None
        self._last_log = 0.0
        self._began = time.monotonic()
        self._ended: float | None = None
        self._state: JobState = "running"
        self._total: int | None = None
        self._counts = (0, 0, 0)  # documents read, indexed, unchanged

    def progress(self) -> IndexingJob:
        """Where the job stands (`GET /v1/indexing`, the demo page's progress line)."""
        read, indexed, unchanged = self._counts
        ended = time.monotonic() if self._ended is None else self._ended
        return IndexingJob(
            collection=self.collection,
            state=self._state,
            documents_total=self._total,
            documents_read=read,
            documents_indexed=indexed,
            documents_unchanged=unchanged,
            documents_rejected=self.rejected,
            seconds=round(ended - self._began, 1),
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="background-index", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _records(self) -> Iterator[Record]:
        for result in read_records(self.source):
            if isinstance(result, Rejected):
                self.rejected += 1
                self._gauge("rejected", self.rejected)
                log.warning("%s line %d skipped: %s", self.source, result.line, result.reason)
                continue
            yield result.record

    def _gauge(self, state: str, value: float) -> None:
        self.service.metrics.background_documents.labels(state).set(value)

    def _progress(self, read: int, indexed: int, unchanged: int) -> None:
        self._counts = (read, indexed, unchanged)
        self.service.forget_languages(self.collection)  # the batch may bring new languages
        for state, value in (("read", read), ("indexed", indexed), ("unchanged", unchanged)):
            self._gauge(state, value)
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            log.info(
                "background indexing %s: %d documents read (%d indexed, %d unchanged) in %.0f s",
                self.collection,
                read,
                indexed,
                unchanged,
                now - self._began,
            )

    def _run(self) -> None:
        metrics = self.service.metrics
        metrics.background_running.set(1)
        self._began = self._last_log = time.monotonic()
        try:
            with self.source.open("rb") as lines:
                self._total = sum(1 for line in lines if line.strip())
            self._gauge("total", self._total)
            log.info("background indexing %s into %s", self.source, self.collection)
            summary = index_records(
                self._records(),
                encoder=self.service.encoder,
                store=self.service.store,
                collection=self.collection,
                batch_size=self.batch_size,
                encode=self.service.passage_encoder(Priority.BACKGROUND, self.texts_per_call),
                on_batch=self._progress,
                encode_calls=self.encode_calls,
                sentence_vectors=self.service.sentence_vectors,
            )
            log.info("background indexing %s done: %s", self.collection, summary)
            self._state = "done"
        except EncoderMismatchError as error:  # e.g. the default model changed since the last run
            log.error(
                "background indexing of %s stopped: %s. To index it with this model, delete the "
                "collection (DELETE /v1/collections/%s) and start the service again",
                self.source,
                error,
                self.collection,
            )
        except Exception:  # the service keeps serving what is indexed
            log.exception("background indexing of %s failed", self.source)
        finally:
            if self._state == "running":  # one of the handlers above: it stopped
                self._state = "failed"
            self._ended = time.monotonic()
            metrics.background_running.set(0)
