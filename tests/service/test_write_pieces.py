"""A document upsert is cut into small encoder calls that each queue at write priority, so a
query that arrives mid-upsert gets the encoder at the next call, not after the whole job."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.documents.record import Record
from app.encode_queue import EncodeQueue, Priority
from app.encoder import Embeddings, OnnxEncoder, Span, TextKind
from app.metrics import Metrics
from app.service import SearchService
from app.store.edge import QdrantEdgeStore


class InterruptingEncoder:
    """The real encoder; during its first passage call, a query arrives and queues."""

    def __init__(self, real: OnnxEncoder) -> None:
        self.real = real
        self.calls: list[tuple[TextKind, int]] = []
        self.service: SearchService | None = None
        self.query_thread: threading.Thread | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def encode(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        return self.encode_spans(texts, kind, None)[0]

    def encode_spans(
        self, texts: Sequence[str], kind: TextKind, spans: Sequence[Sequence[Span]] | None
    ) -> tuple[Embeddings, list[Embeddings]]:
        """Passages come here (with their sentences, for highlights), queries via `encode`."""
        self.calls.append((kind, len(texts)))
        if kind == "passage" and self.query_thread is None:
            assert self.service is not None
            service = self.service
            self.query_thread = threading.Thread(
                target=service.embed, args=(["who has the right to work?"], "query")
            )
            self.query_thread.start()
            deadline = time.monotonic() + 10
            while service.encode_queue.waiting(Priority.QUERY) == 0:  # the query is queued
                assert time.monotonic() < deadline, "the query never queued"
                time.sleep(0.002)
        return self.real.encode_spans(texts, kind, spans)


def test_an_upsert_yields_the_encoder_to_a_query_between_its_calls(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    fake = InterruptingEncoder(encoder)
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=30)
    store = QdrantEdgeStore(tmp_path / "qdrant")
    try:
        service = SearchService(fake, store, Metrics(), queue, None, write_encode_texts=4)  # type: ignore[arg-type]
        fake.service = service
        documents = [
            Record(id=f"doc-{i}", text=f"Article {i}: everyone has rights.") for i in range(10)
        ]
        summary = service.upsert_documents("pieces", documents)
        assert fake.query_thread is not None
        fake.query_thread.join(10)
    finally:
        store.close()
    assert summary.documents == 10
    assert fake.calls == [("passage", 4), ("query", 1), ("passage", 4), ("passage", 2)]


def test_between_calls_runs_between_the_model_calls_of_one_encode(model_dir: Path) -> None:
    """The hook the scheduler lends a background call's slot through: once between each two
    onnxruntime calls of an encode, never before the first or after the last, and the vectors
    are the same as without it."""
    encoder = OnnxEncoder(model_dir, "int8", batch_tokens=64)  # a few short texts per call
    texts = [
        f"Article {i}: everyone has the right to rest and leisure." * (1 + i % 3) for i in range(12)
    ]
    runs: list[int] = []
    real_run = encoder._run

    def counted(*args: object, **kwargs: object) -> object:
        runs.append(len(runs))
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    hooks: list[int] = []
    encoder._run = counted  # type: ignore[method-assign,assignment]
    plain, _ = encoder.encode_spans(texts, "passage", None)
    calls = len(runs)
    hooked, _ = encoder.encode_spans(
        texts, "passage", None, between_calls=lambda: hooks.append(len(runs) - calls)
    )
    assert calls > 2
    assert hooks == list(range(1, calls))  # after model call 1, 2, ... of the second encode
    np.testing.assert_array_equal(hooked, plain)
