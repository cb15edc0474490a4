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
                # An integer field to filter and group on, missing from every tenth point.
                "metadata": {"article": i % 12, "part": f"p{i % 3}"} if i % 10 != 9 else {},
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


def brute_force_groups(
    points: list[Point], query: Vector, key: str, groups: int
) -> list[tuple[str, float]]:
    """The best (id, cosine similarity) of each of the `groups` best values of metadata `key`
    (each value of a list, as Qdrant groups)."""
    best: dict[object, tuple[str, float]] = {}
    for point_id, score in brute_force(points, query, len(points)):
        payload = next(p.payload for p in points if p.id == point_id)
        value = payload["metadata"].get(key)
        for each in value if isinstance(value, list) else [value]:
            if each is not None and each not in best and len(best) < groups:
                best[each] = (point_id, score)
    return list(best.values())


def brute_force_group_means(
    points: list[Point], query: Vector, key: str, groups: int, passages: int
) -> list[tuple[object, float]]:
    """The `groups` values of metadata `key` whose best `passages` points (all where fewer)
    have the highest mean cosine similarity, with that mean, best first (integer values)."""
    values = {p.id: p.payload["metadata"].get(key) for p in points}
    scores: dict[object, list[float]] = {}
    for point_id, score in brute_force(points, query, len(points)):
        if values[point_id] is not None:  # a point without the field is in no group
            scores.setdefault(values[point_id], []).append(score)
    means = {value: float(np.mean(found[:passages])) for value, found in scores.items()}
    return sorted(means.items(), key=lambda item: -item[1])[:groups]
