"""A document upsert is cut into small encoder calls that each queue at write priority, on the
encoder's low-priority threads; a query that arrives mid-upsert runs in a slot of its own at
once, not after the write's call."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.documents.record import Record
from app.encode_queue import EncodeQueue
from app.encoder import Embeddings, OnnxEncoder, Span, TextKind
from app.metrics import Metrics
from app.service import SearchService
from app.store.edge import QdrantEdgeStore


class InterruptingEncoder:
    """The real encoder; during its first passage call, a query arrives (from a thread of the
    test's own priority: threads inherit their maker's), and that call goes on only once the
    query has its vector."""

    def __init__(self, real: OnnxEncoder) -> None:
        self.real = real
        self.calls: list[tuple[TextKind, int]] = []
        self.nice: dict[TextKind, set[int]] = {"query": set(), "passage": set()}
        self.service: SearchService | None = None
        self.upsert_began = threading.Event()
        self.query_thread = threading.Thread(target=self._query)

    def _query(self) -> None:
        self.upsert_began.wait(10)
        assert self.service is not None
        self.service.embed(["who has the right to work?"], "query")

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def encode(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        return self.encode_spans(texts, kind, None)[0]

    def encode_spans(
        self, texts: Sequence[str], kind: TextKind, spans: Sequence[Sequence[Span]] | None
    ) -> tuple[Embeddings, list[Embeddings]]:
        """Passages come here (with their sentences, for highlights), queries via `encode`."""
        self.calls.append((kind, len(texts)))
        self.nice[kind].add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        if kind == "passage" and not self.upsert_began.is_set():
            self.upsert_began.set()
            self.query_thread.join(10)  # it would wait forever for this call's slot
            assert not self.query_thread.is_alive(), "the query waited for the write's call"
        return self.real.encode_spans(texts, kind, spans)


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_a_query_runs_beside_an_upserts_call_which_runs_at_a_lower_cpu_priority(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    fake = InterruptingEncoder(encoder)
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=30, write_nice=3)
    store = QdrantEdgeStore(tmp_path / "qdrant")
    try:
        service = SearchService(fake, store, Metrics(), queue, None, write_encode_texts=4)  # type: ignore[arg-type]
        fake.service = service
        fake.query_thread.start()
        documents = [
            Record(id=f"doc-{i}", text=f"Article {i}: everyone has rights.") for i in range(10)
        ]
        summary = service.upsert_documents("pieces", documents)
    finally:
        queue.close()
        store.close()
    assert summary.documents == 10
    assert fake.calls == [("passage", 4), ("query", 1), ("passage", 4), ("passage", 2)]
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert fake.nice == {"query": {mine}, "passage": {min(19, mine + 3)}}
