"""The large search index: a whole corpus indexed once by the project's indexer, then reused.

Both services search the same points: ours in qdrant-edge, the naive stack's in qdrant-client
local mode, filled with the very vectors our indexer computed, since encoding 150k passages
with torch would take hours here and who computed a vector does not change how fast it is
found. Indexing speed is compared separately, on a slice, each stack encoding its own.

The build is also the benchmark's whole-corpus indexing figure: `python -m indexer`'s pipeline
(the same encoder calls, HNSW built once at the end) writes our store alone, timed; the naive
store is filled afterwards from ours, untimed.

The stores are reused while a marker records that they hold every passage of this corpus,
encoded with the same encoder setup; an interrupted build starts over.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_edge import EdgeShard, ScrollRequest

from app.encoder import OnnxEncoder
from app.settings import DEFAULT_QUANTIZATION
from app.store import Point
from app.store.edge import SHARD_DIR, QdrantEdgeStore
from app.store.remote import QdrantClientStore
from indexer.pipeline import index_file

MARKER = "complete.json"
# Bumped when the build changes how fast it runs, so that a figure is never carried over from
# an older indexer: 2 = the pipelined indexer, our store alone timed.
BUILD_VERSION = 2
COPY_PAGE = 1_000


@dataclass(frozen=True)
class LargeIndex:
    ours: Path  # qdrant-edge data dir, served by `python -m app`
    naive: Path  # qdrant-client local path, served by bench.naive_service
    points: int
    build_s: float  # our indexer over the whole corpus, now or in the run that made it
    reused: bool  # built by an earlier run
    built: str = ""  # when (ISO time)


def _fingerprint(corpus: Path, encoder: OnnxEncoder, encode_calls: int) -> str:
    """The corpus and what encodes it: model and the builder of its graphs, variant, call
    sizes and calls at once (the build's speed, and int8 vectors, depend on them), and how
    the store keeps the vectors (the search's speed depends on it)."""
    setup = (
        f"{BUILD_VERSION}|{encoder.card.name}|{encoder.card.extra.get('builder')}|"
        f"{encoder.variant}|{encoder.batch_size}|{encoder.batch_tokens}|{encoder.threads}|"
        f"{encode_calls}|{DEFAULT_QUANTIZATION}"
    )
    digest = hashlib.sha256(setup.encode())
    with corpus.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_points(
    ours: Path, collection: str, naive: QdrantClientStore, encoder: OnnxEncoder
) -> None:
    """Every point of our collection (dense vector and payload) into the naive store."""
    naive.create_collection(collection, encoder.dim, encoder.card.name)
    shard = EdgeShard.load(str(ours / collection / SHARD_DIR))
    try:
        offset: Any = None
        while True:
            request = ScrollRequest(
                offset=offset, limit=COPY_PAGE, with_payload=True, with_vector=True
            )
            records, offset = shard.scroll(request)
            points = []
            for record in records:
                vector = record.vector
                dense = vector[""] if isinstance(vector, dict) else vector
                payload = dict(record.payload or {})
                points.append(Point(str(record.id), np.asarray(dense, np.float32), payload))
            naive.upsert(collection, points)
            if offset is None:
                break
    finally:
        shard.close()


def ensure_large_index(
    corpus: Path, encoder: OnnxEncoder, work_dir: Path, collection: str, encode_calls: int = 1
) -> LargeIndex:
    """Both stores holding every passage of `corpus`, built now unless already complete."""
    ours, naive, marker = work_dir / "ours", work_dir / "naive", work_dir / MARKER
    fingerprint = _fingerprint(corpus, encoder, encode_calls)
    if marker.is_file():
        done = json.loads(marker.read_text(encoding="utf-8"))
        if done.get("fingerprint") == fingerprint:
            points, seconds = int(done["points"]), float(done["seconds"])
            return LargeIndex(ours, naive, points, seconds, True, str(done.get("built", "")))
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    began = time.perf_counter()
    store = QdrantEdgeStore(ours, quantization=DEFAULT_QUANTIZATION)  # as the service would
    try:
        summary = index_file(
            corpus,
            encoder=encoder,
            store=store,
            collection=collection,
            progress=True,
            encode_calls=encode_calls,
        )
    finally:
        store.close()
    build_s = time.perf_counter() - began
    mirror = QdrantClientStore(QdrantClient(path=str(naive)))
    try:
        _copy_points(ours, collection, mirror, encoder)
    finally:
        mirror.close()
    built = datetime.now(UTC).isoformat(timespec="seconds")
    record = {
        "fingerprint": fingerprint,
        "points": summary.chunks,
        "seconds": round(build_s, 1),
        "built": built,
    }
    marker.write_text(json.dumps(record), encoding="utf-8")
    return LargeIndex(ours, naive, summary.chunks, build_s, False, built)
