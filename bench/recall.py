"""How close the store's approximate search comes to exact search, per vector storage.

`python -m bench.recall [--index data/bench/whole-corpus] [--queries 300]` takes the points of
the large search index that `make bench` built (vectors, ids, payloads: no re-encoding), loads
them into a fresh embedded store per storage (`POLYSEARCH_VECTOR_QUANTIZATION`: fp32, and int8
with rescoring), and for held-out queries compares each store's top 10 with the exact top 10
computed by brute force in numpy, searching each store with several HNSW beam widths
(`POLYSEARCH_SEARCH_HNSW_EF`). Writes recall@10 and search latency per storage and beam width
to `--out`/recall.{json,md}.

Each timed search comes right after its query's encoding, the order the service runs them in:
the encoder's weights and activations pass through the CPU caches between two searches, so a
search is timed as it runs in the service, not warm from the search before it.

Queries: the benchmark's hand-written questions plus passages of the corpus encoded as
queries (with the query prefix, so not the stored vectors), a fixed random sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from tqdm import tqdm

from app.encoder import Embeddings, OnnxEncoder
from app.settings import DEFAULT_MODEL, DEFAULT_QUANTIZATION, Quantization, Settings
from app.store.base import Point
from app.store.edge import QdrantEdgeStore
from bench.capacity import DIM, ram_bytes_per_vector
from bench.queries import QUERIES
from bench.report import markdown_table

COLLECTION = "bench"
TOP_K = 10
TIE = 1e-5  # exact cosines this close to the 10th best count as reaching it
SCROLL_PAGE = 10_000
UPSERT_BATCH = 1_000
HNSW_EFS = (None, 128, 256, 512)  # search beam widths (POLYSEARCH_SEARCH_HNSW_EF)
STORAGES: tuple[tuple[Quantization, str, float], ...] = (
    ("none", "fp32 vectors, HNSW", 4.0),
    ("int8", "scalar int8 in RAM, rescored with fp32", 1.0),
)


@dataclass(frozen=True)
class RecallFigure:
    quantization: str
    storage: str
    hnsw_ef: int | None  # None: the engine's default
    ram_bytes_per_vector: float
    build_s: float
    recall_at_10: float
    worst_recall_at_10: float
    p50_ms: float  # each search right after its query's encoding (as in the service)
    mean_ms: float


def _points(path: Path, collection: str) -> Iterator[Point]:
    """Every point of a qdrant-client local store, vectors and payloads included."""
    client = QdrantClient(path=str(path))
    try:
        offset: Any = None
        while True:
            records, offset = client.scroll(
                collection, limit=SCROLL_PAGE, offset=offset, with_vectors=True, with_payload=True
            )
            for record in records:
                # Collections with a lexical index name their vectors: the dense one is "".
                vectors = record.vector
                dense = vectors[""] if isinstance(vectors, dict) else vectors
                vector = np.asarray(dense, dtype=np.float32)
                yield Point(id=str(record.id), vector=vector, payload=dict(record.payload or {}))
            if offset is None:
                return
    finally:
        client.close()


def _query_texts(points: Sequence[Point], count: int, seed: int) -> list[str]:
    written = [text for _, text in QUERIES]
    texts = [str(p.payload["text"]) for p in points if p.payload.get("text")]
    sampled = random.Random(seed).sample(texts, max(0, min(count - len(written), len(texts))))
    return (written + sampled)[:count]


class ExactNeighbours:
    """The truth by brute force (cosine: the vectors are normalised). A hit counts when its
    exact score reaches the 10th best one, so that any of several identical passages (verses
    repeated word for word) is as right as another."""

    def __init__(self, matrix: Embeddings, ids: Sequence[str], queries: Embeddings) -> None:
        self.scores = queries @ matrix.T
        self.kth = -np.partition(-self.scores, TOP_K - 1, axis=1)[:, TOP_K - 1]
        self.row_of = {point_id: row for row, point_id in enumerate(ids)}

    def recall(self, query: int, hit_ids: Sequence[str]) -> float:
        rows = [self.row_of[point_id] for point_id in hit_ids]
        reached = self.scores[query, rows] >= self.kth[query] - TIE
        return float(np.count_nonzero(reached)) / TOP_K


def build_store(points: Sequence[Point], directory: Path, quantization: Quantization) -> float:
    """A fresh embedded store holding `points`, as the indexer would write it; seconds taken."""
    if directory.exists():
        shutil.rmtree(directory)
    store = QdrantEdgeStore(directory, quantization=quantization)
    try:
        began = time.perf_counter()
        store.create_collection(COLLECTION, len(points[0].vector))
        for start in tqdm(range(0, len(points), UPSERT_BATCH), desc=f"store {quantization}"):
            store.upsert(COLLECTION, points[start : start + UPSERT_BATCH])
        return time.perf_counter() - began
    finally:
        store.close()


def measure_search(
    directory: Path,
    queries: Embeddings,
    truth: ExactNeighbours,
    hnsw_ef: int | None,
    encode_query: Callable[[int], object],
) -> tuple[list[float], list[float]]:
    """(recall@10 per query, milliseconds per search) of the store in `directory`, searched
    with the beam width `hnsw_ef`, one query at a time. A first, untimed pass over the queries
    finds the hits and brings the store's pages in; the timed pass runs each search right
    after `encode_query(n)` encodes its query again, as the service does."""
    store = QdrantEdgeStore(directory, hnsw_ef=hnsw_ef)
    try:
        recalls = [
            truth.recall(number, [hit.id for hit in store.search(COLLECTION, query, TOP_K)])
            for number, query in enumerate(queries)
        ]
        latencies = []
        for number, query in enumerate(queries):
            encode_query(number)
            started = time.perf_counter()
            store.search(COLLECTION, query, TOP_K)
            latencies.append((time.perf_counter() - started) * 1000)
        return recalls, latencies
    finally:
        store.close()


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# Recall of approximate search against exact search",
        "",
        f"`{meta['command']}`: {meta['points']:,} points of `{meta['index']}`, {meta['queries']} "
        f"queries ({len(QUERIES)} hand-written, the rest corpus passages encoded as queries), "
        f"top {TOP_K}; exact neighbours by brute force in numpy (a hit counts when its exact "
        f"score reaches the {TOP_K}th best, so one of several identical verses is as right as "
        f"another). Latency: one search at a time through the embedded store, {meta['cores']} "
        f"cores, each right after its query was encoded, as the service runs them (the encoder "
        f"passes through the CPU caches between two searches), after an untimed pass over the "
        f"queries. Run {meta['started']}.",
        "",
    ]
    lines += markdown_table(
        ["storage", "search ef", "RAM bytes/vector", "build s", "recall@10", "worst query",
         "p50 ms", "mean ms"],
        [
            [
                f["storage"], f["hnsw_ef"] or "default", f"{f['ram_bytes_per_vector']:,.0f}",
                f["build_s"], f"{f['recall_at_10']:.3f}", f["worst_recall_at_10"], f["p50_ms"],
                f["mean_ms"],
            ]
            for f in results["storages"]
        ],
    )  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recall", description=__doc__)
    parser.add_argument("--index", type=Path, default=Path("data/bench/whole-corpus"))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("docs/bench"))
    parser.add_argument("--work-dir", type=Path, default=Path("data/bench/recall"))
    parser.add_argument("--model-dir", type=Path, default=Path("artifacts/models") / DEFAULT_MODEL)
    args = parser.parse_args(argv)
    naive = args.index / "naive"
    if not naive.is_dir():
        parser.error(f"no index at {naive}: run `make bench` (python -m bench --large) first")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    points = list(tqdm(_points(naive, COLLECTION), desc="reading points", unit="pt"))
    matrix = np.stack([p.vector for p in points]).astype(np.float32)
    ids = [p.id for p in points]
    settings = Settings(models_dir=args.model_dir.parent, model=args.model_dir.name)
    encoder = OnnxEncoder.from_settings(settings)
    texts = _query_texts(points, args.queries, args.seed)
    queries = encoder.encode(texts, "query")
    truth = ExactNeighbours(matrix, ids, queries)
    figures = []
    for quantization, storage, bytes_per_dim in STORAGES:
        directory = args.work_dir / quantization
        build_s = build_store(points, directory, quantization)
        for hnsw_ef in HNSW_EFS:
            recalls, latencies = measure_search(
                directory, queries, truth, hnsw_ef, lambda n: encoder.encode([texts[n]], "query")
            )
            figure = RecallFigure(
                quantization=quantization,
                storage=f"{storage} (default)" if quantization == DEFAULT_QUANTIZATION else storage,
                hnsw_ef=hnsw_ef,
                ram_bytes_per_vector=ram_bytes_per_vector(DIM, bytes_per_dim),
                build_s=round(build_s, 1),
                recall_at_10=round(statistics.fmean(recalls), 4),
                worst_recall_at_10=min(recalls),
                p50_ms=round(statistics.median(latencies), 3),
                mean_ms=round(statistics.fmean(latencies), 3),
            )
            print(figure, file=sys.stderr)
            figures.append(asdict(figure))
        shutil.rmtree(directory)
    results = {
        "meta": {
            "command": "python -m bench.recall " + " ".join(argv or sys.argv[1:]),
            "index": str(args.index),
            "points": len(points),
            "queries": len(queries),
            "cores": os.cpu_count() or 1,
            "started": started,
        },
        "storages": figures,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "recall.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    report = markdown(results)
    (args.out / "recall.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
