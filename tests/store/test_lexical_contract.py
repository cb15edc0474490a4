"""Lexical (BM25 sparse vector) search and point rescoring, the same on every backend."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from app.lexical.bm25 import AVERAGE_TERMS, query_vector
from app.lexical.bm25 import document_vector as bm25_vector
from app.store.base import Filter, Hit, LexicalIndexMissingError, Point, VectorStore
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore
from tests.store.conftest import BACKENDS
from tests.store.legacy import legacy_edge_collection
from tests.store.points import brute_force

DIM = 8
VOCABULARY = [f"w{i}" for i in range(40)]


def _documents(rng: np.random.Generator, n: int) -> list[list[str]]:
    """Zipf-like word choice, so that common and rare terms both occur; lengths vary."""
    weights = 1.0 / np.arange(1, len(VOCABULARY) + 1)
    weights /= weights.sum()
    return [
        list(rng.choice(VOCABULARY, size=int(rng.integers(3, 30)), p=weights)) for _ in range(n)
    ]


def _points(rng: np.random.Generator, documents: list[list[str]]) -> list[Point]:
    return [
        Point(
            id=str(uuid.UUID(int=i + 1)),
            vector=rng.normal(size=DIM).astype(np.float32),
            payload={"language": "en" if i % 2 else "fr", "doc_id": f"d{i}", "chunk": 0},
            sparse=bm25_vector(terms),
        )
        for i, terms in enumerate(documents)
    ]


def _textbook_bm25(documents: list[list[str]], query: list[str]) -> list[float]:
    """Okapi BM25 (k1 1.2, b 0.75, Lucene's idf) computed from the words, not the vectors."""
    n = len(documents)
    frequency = Counter(term for terms in documents for term in set(terms))
    scores = []
    for terms in documents:
        counts = Counter(terms)
        score = 0.0
        for term in set(query):
            if counts[term]:
                idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
                norm = 1.2 * (1 - 0.75 + 0.75 * len(terms) / AVERAGE_TERMS)
                score += idf * counts[term] * 2.2 / (counts[term] + norm)
        scores.append(score)
    return scores


def _ranked(
    documents: list[list[str]], points: list[Point], query: list[str]
) -> list[tuple[str, float]]:
    scores = _textbook_bm25(documents, query)
    ranked = sorted(zip(points, scores, strict=True), key=lambda pair: -pair[1])
    return [(p.id, s) for p, s in ranked if s > 0]


def test_lexical_search_ranks_by_bm25_and_forgets_deleted_points(store: VectorStore) -> None:
    rng = np.random.default_rng(3)
    documents = _documents(rng, 120)
    points = _points(rng, documents)
    store.create_collection("docs", DIM)
    assert store.has_lexical("docs")
    store.upsert("docs", points)
    for query in (["w0", "w17"], ["w33"], ["w2", "w5", "w38", "w39"]):
        expected = _ranked(documents, points, query)
        hits = store.search_lexical("docs", query_vector(query), limit=10)
        assert len(hits) == min(10, len(expected))
        assert [h.score for h in hits] == pytest.approx([s for _, s in expected[:10]], rel=1e-4)
        # Ties aside, the same points: every hit scores what the textbook gives it.
        by_id = dict(expected)
        assert all(by_id[h.id] == pytest.approx(h.score, rel=1e-4) for h in hits)
    # Deleted points are never found. (Their terms may still count in the document frequencies
    # until the engine vacuums their segment: qdrant-edge keeps them below its thresholds.)
    store.delete("docs", [p.id for p in points[:60]])
    query = ["w1", "w25"]
    remaining = {i for i, _ in _ranked(documents[60:], points[60:], query)}
    hits = store.search_lexical("docs", query_vector(query), limit=100)
    assert {h.id for h in hits} == remaining


def test_lexical_search_filters_and_finds_nothing_without_shared_terms(
    store: VectorStore,
) -> None:
    rng = np.random.default_rng(4)
    documents = _documents(rng, 40)
    points = _points(rng, documents)
    plain = Point(str(uuid.UUID(int=999)), rng.normal(size=DIM).astype(np.float32), {})
    store.create_collection("docs", DIM)
    store.upsert("docs", [*points, plain])  # a point without terms is only found by vector
    assert store.search_lexical("docs", query_vector(["unseen"]), limit=5) == []
    assert store.search_lexical("docs", query_vector([]), limit=5) == []
    hits = store.search_lexical(
        "docs", query_vector(["w0"]), limit=50, where=Filter(equals={"language": "en"})
    )
    wanted = [p.id for p, terms in zip(points, documents, strict=True) if "w0" in terms]
    assert {h.id for h in hits} == {i for i in wanted if int(uuid.UUID(i)) % 2 == 0}
    assert {h.payload["language"] for h in hits} == {"en"}
    assert plain.id in {h.id for h in store.search("docs", plain.vector, limit=1)}


def test_searches_without_payload_rank_the_same_points(store: VectorStore) -> None:
    """Hybrid candidates are ranked by id and score alone: `payload=False` changes nothing else."""
    rng = np.random.default_rng(6)
    documents = _documents(rng, 60)
    points = _points(rng, documents)
    store.create_collection("docs", DIM)
    store.upsert("docs", points)
    vector, terms = points[3].vector, query_vector(["w1", "w9"])

    def dense(payload: bool) -> list[Hit]:
        return store.search("docs", vector, 20, payload=payload)

    def lexical(payload: bool) -> list[Hit]:
        return store.search_lexical("docs", terms, 20, payload=payload)

    for search in (dense, lexical):
        whole, bare = search(True), search(False)
        assert [(h.id, h.score) for h in bare] == [(h.id, h.score) for h in whole]
        assert all(h.payload["doc_id"] for h in whole) and all(h.payload == {} for h in bare)


def test_score_points_gives_the_cosine_of_the_asked_points(store: VectorStore) -> None:
    rng = np.random.default_rng(5)
    points = _points(rng, _documents(rng, 50))
    store.create_collection("docs", DIM)
    store.upsert("docs", points)
    query = rng.normal(size=DIM).astype(np.float32)
    asked = points[10:15]
    truth = brute_force(asked, query, k=len(asked))
    hits = store.score_points("docs", query, [p.id for p in asked] + [str(uuid.UUID(int=10**6))])
    assert [h.id for h in hits] == [i for i, _ in truth]
    assert [h.score for h in hits] == pytest.approx([s for _, s in truth], abs=1e-5)
    assert all(h.payload == {} for h in hits)
    assert store.score_points("docs", query, []) == []


def _legacy_store(kind: str, data_dir: Path) -> VectorStore:
    """A store holding `old`, a collection created the way it was before lexical search."""
    if kind == "edge":
        legacy_edge_collection(data_dir, "old", DIM, encoder=None)
        return QdrantEdgeStore(data_dir)
    client = QdrantClient(location=":memory:")
    vectors = models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    client.create_collection("old", vectors_config=vectors)
    return QdrantClientStore(client)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_collection_without_lexical_index_keeps_working_by_vector(
    kind: str, tmp_path: Path
) -> None:
    store = _legacy_store(kind, tmp_path / "qdrant")
    try:
        assert not store.has_lexical("old")
        rng = np.random.default_rng(6)
        points = _points(rng, _documents(rng, 5))  # terms given, but nowhere to keep them
        store.upsert("old", points)
        assert store.count("old") == 5
        assert store.search("old", points[0].vector, limit=1)[0].id == points[0].id
        with pytest.raises(LexicalIndexMissingError, match="index its documents again"):
            store.search_lexical("old", query_vector(["w0"]), limit=5)
    finally:
        store.close()
