"""The large search index: a whole corpus indexed once by the project's indexer, then reused.

Both services search the same points: ours in qdrant-edge, the naive stack's in qdrant-client
local mode, filled with the very vectors our indexer computed, since encoding 150k passages
with torch would take hours here and who computed a vector does not change how fast it is
found. Indexing speed is compared separately, on a slice, each stack encoding its own.

The stores are reused while a marker records that they hold every passage of this corpus,
encoded with the same encoder setup; an interrupted build starts over.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from qdrant_client import QdrantClient

from app.documents.writer import BulkLoading
from app.encoder import OnnxEncoder
from app.store import Filter, Point, VectorStore
from app.store.base import ReadThroughStore
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore
from indexer.pipeline import index_file

MARKER = "complete.json"


class MirroredStore(ReadThroughStore):
    """Writes go to both stores, reads to the first."""

    def __init__(self, primary: VectorStore, mirror: VectorStore) -> None:
        super().__init__(primary)
        self.mirror = mirror

    def create_collection(self, name: str, dim: int, encoder: str | None = None) -> None:
        self.inner.create_collection(name, dim, encoder)
        self.mirror.create_collection(name, dim, encoder)

    def delete_collection(self, name: str) -> None:
        self.inner.delete_collection(name)
        self.mirror.delete_collection(name)

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        self.inner.upsert(collection, points)
        self.mirror.upsert(collection, points)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self.inner.delete(collection, ids)
        self.mirror.delete(collection, ids)

    def delete_where(self, collection: str, where: Filter) -> None:
        self.inner.delete_where(collection, where)
        self.mirror.delete_where(collection, where)

    def close(self) -> None:
        self.inner.close()
        self.mirror.close()

    def bulk_load(self, collection: str) -> AbstractContextManager[None]:
        """The primary's (qdrant-edge: HNSW built once at the end); the mirror, qdrant-client's
        local mode, builds no index."""
        if isinstance(self.inner, BulkLoading):
            return self.inner.bulk_load(collection)
        return nullcontext()


@dataclass(frozen=True)
class LargeIndex:
    ours: Path  # qdrant-edge data dir, served by `python -m app`
    naive: Path  # qdrant-client local path, served by bench.naive_service
    points: int
    build_s: float  # how long the build took, now or in the run that made it
    reused: bool  # built by an earlier run


def _fingerprint(corpus: Path, encoder: OnnxEncoder) -> str:
    """The corpus and what encodes it: model, variant and call sizes (the build's speed, and
    int8 vectors, depend on them)."""
    setup = f"{encoder.card.name}|{encoder.variant}|{encoder.batch_size}|{encoder.batch_tokens}"
    digest = hashlib.sha256(setup.encode())
    with corpus.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_large_index(
    corpus: Path, encoder: OnnxEncoder, work_dir: Path, collection: str
) -> LargeIndex:
    """Both stores holding every passage of `corpus`, built now unless already complete."""
    ours, naive, marker = work_dir / "ours", work_dir / "naive", work_dir / MARKER
    fingerprint = _fingerprint(corpus, encoder)
    if marker.is_file():
        done = json.loads(marker.read_text(encoding="utf-8"))
        if done.get("fingerprint") == fingerprint:
            return LargeIndex(ours, naive, int(done["points"]), float(done["seconds"]), True)
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    began = time.perf_counter()
    store = MirroredStore(QdrantEdgeStore(ours), QdrantClientStore(QdrantClient(path=str(naive))))
    try:
        summary = index_file(
            corpus, encoder=encoder, store=store, collection=collection, progress=True
        )
    finally:
        store.close()
    build_s = time.perf_counter() - began
    record = {"fingerprint": fingerprint, "points": summary.chunks, "seconds": round(build_s, 1)}
    marker.write_text(json.dumps(record), encoding="utf-8")
    return LargeIndex(ours, naive, summary.chunks, build_s, False)
