"""Random points with payloads shaped like the indexer's, and the brute-force answer to compare."""

from __future__ import annotations

import uuid

import numpy as np

from app.store.base import Point, Vector

LANGUAGES = ("en", "fr", "sw", "yo", "ny", "qu", "km")


def random_points(rng: np.random.Generator, n: int, dim: int, docs: int = 20) -> list[Point]:
    """Unnormalised vectors (scaled at random) so that cosine normalisation is exercised."""
    vectors = rng.normal(size=(n, dim)) * rng.uniform(0.1, 10.0, size=(n, 1))
    return [
        Point(
            id=str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | i)),
            vector=vectors[i].astype(np.float32),
            payload={
                "language": LANGUAGES[int(rng.integers(len(LANGUAGES)))],
                "doc_id": f"doc-{int(rng.integers(docs))}",
                "doc_hash": "h1",
                "chunk": i,
            },
        )
        for i in range(n)
    ]


def brute_force(points: list[Point], query: Vector, k: int) -> list[tuple[str, float]]:
    """Top-k (id, cosine similarity) by exhaustive numpy search."""
    matrix = np.stack([p.vector for p in points]).astype(np.float64)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = matrix @ (query.astype(np.float64) / np.linalg.norm(query))
    order = np.argsort(-scores)[:k]
    return [(points[i].id, float(scores[i])) for i in order]
