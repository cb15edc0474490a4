"""int8 scalar quantisation (`POLYSEARCH_VECTOR_QUANTIZATION=int8`): the same answers as exact
search on both backends, int8 copies really used by the embedded engine, and a per-collection
setting that survives restarts."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_edge import EdgeShard, QuantizationSearchParams, Query, QueryRequest, SearchParams

import app.store.edge as edge_module
from app.store.base import Filter, Point, VectorStore
from app.store.edge import SHARD_DIR, QdrantEdgeStore
from app.store.remote import QdrantClientStore
from tests.store.conftest import BACKENDS, open_backend, record_search_params
from tests.store.points import random_points

DIM = 384
# 12 MB of fp32 vectors: past the engine's 10 MB indexing threshold, so most points end up in an
# optimised segment, the only kind that holds int8 copies (below it the test would prove nothing).
N = 8_000
QUERIES = 20
TOP_K = 10


def clustered_points(seed: int) -> list[Point]:
    """Unit vectors around 40 centres, like text embeddings. (Unclustered Gaussian vectors have no
    neighbourhoods: on them HNSW alone, unquantised, finds only ~0.7 of the true top 10.)"""
    rng = np.random.default_rng(seed)
    shaped = random_points(rng, N, DIM)  # ids and payloads like the indexer's
    centres = rng.normal(size=(40, DIM))
    vectors = centres[rng.integers(len(centres), size=N)] + rng.normal(size=(N, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        replace(point, vector=vector.astype(np.float32))
        for point, vector in zip(shaped, vectors, strict=True)
    ]


def queries_near(points: list[Point], seed: int) -> list[np.ndarray[Any, np.dtype[np.float32]]]:
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(points), size=QUERIES, replace=False)
    return [
        (points[i].vector + rng.normal(scale=0.05, size=DIM)).astype(np.float32) for i in chosen
    ]


def cosines(points: list[Point], query: np.ndarray[Any, np.dtype[np.float32]]) -> dict[str, float]:
    matrix = np.stack([p.vector for p in points]).astype(np.float64)  # unit vectors already
    scores = matrix @ (query.astype(np.float64) / np.linalg.norm(query))
    return {p.id: float(s) for p, s in zip(points, scores, strict=True)}


def top(scores: dict[str, float], k: int = TOP_K) -> set[str]:
    return set(sorted(scores, key=scores.__getitem__, reverse=True)[:k])


def fill(store: VectorStore, points: list[Point]) -> None:
    store.create_collection("docs", DIM)
    for start in range(0, len(points), 500):  # batches, as the indexer writes
        store.upsert("docs", points[start : start + 500])


@pytest.fixture(params=BACKENDS)
def int8_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_backend(request.param, tmp_path / "qdrant", quantization="int8")
    yield opened
    opened.close()


def test_an_int8_collection_finds_what_exact_search_finds(int8_store: VectorStore) -> None:
    points = clustered_points(0)
    fill(int8_store, points)
    assert int8_store.count("docs") == N
    assert [h.payload for h in int8_store.retrieve("docs", [points[9].id])] == [points[9].payload]

    recalls = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # local mode ignores quantisation without a word
        for query in queries_near(points, 1):
            exact = cosines(points, query)
            hits = int8_store.search("docs", query, limit=TOP_K)
            assert len(hits) == TOP_K
            recalls.append(len({h.id for h in hits} & top(exact)) / TOP_K)
            # Rescored: every hit carries its fp32 cosine, not the int8 estimate (off by ~5e-3),
            # so the order among the candidates is exact.
            scores = [h.score for h in hits]
            np.testing.assert_allclose(scores, [exact[h.id] for h in hits], atol=1e-4)
            assert scores == sorted(scores, reverse=True)
    assert np.mean(recalls) >= 0.9, recalls  # the engine gets 1.0; garbage would get ~0

    allowed = ["en", "fr"]
    pool = [p for p in points if p.payload["language"] in allowed]
    for query in queries_near(points, 2)[:5]:
        hits = int8_store.search("docs", query, TOP_K, Filter(any_of={"language": allowed}))
        assert {h.payload["language"] for h in hits} <= set(allowed)
        assert len({h.id for h in hits} & top(cosines(pool, query))) >= 8


def test_edge_uses_int8_copies_and_keeps_them_across_a_restart(edge_dir: Path) -> None:
    points = clustered_points(3)
    queries = queries_near(points, 4)
    store = QdrantEdgeStore(edge_dir, quantization="int8")
    fill(store, points)
    before = [store.search("docs", query, TOP_K) for query in queries]
    store.close()

    metadata = json.loads((edge_dir / "docs" / "collection.json").read_text(encoding="utf-8"))
    assert metadata == {
        "name": "docs",
        "dim": DIM,
        "distance": "cosine",
        "quantization": "int8",
        "encoder": None,  # `fill` names no model
        "lexical": "bm25",  # the named sparse vector that keeps BM25 terms
    }

    # The engine really searches int8 copies: not rescored, its scores are approximations.
    shard = EdgeShard.load(str(edge_dir / "docs" / SHARD_DIR))
    errors: dict[bool, float] = {}
    for rescore in (False, True):
        params = SearchParams(quantization=QuantizationSearchParams(rescore=rescore))
        request = QueryRequest(limit=TOP_K, query=Query.Nearest(queries[0].tolist()), params=params)
        exact = cosines(points, queries[0])
        errors[rescore] = max(abs(p.score - exact[str(p.id)]) for p in shard.query(request))
    shard.close()
    assert errors[False] > 1e-4
    assert errors[True] < 1e-5

    reopened = QdrantEdgeStore(edge_dir)  # unquantised by default: the collection keeps int8
    reopened.create_collection("docs", DIM)  # exists: a no-op
    assert [reopened.search("docs", query, TOP_K) for query in queries] == before
    reopened.close()


def test_edge_collections_keep_the_quantization_they_were_created_with(
    edge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("old", 8)
    store.create_collection("older", 8)
    store.close()
    older = edge_dir / "older" / "collection.json"  # as written before the setting existed
    metadata = json.loads(older.read_text(encoding="utf-8"))
    del metadata["quantization"]
    older.write_text(json.dumps(metadata), encoding="utf-8")

    asked: list[dict[str, Any]] = []

    def recording(**kwargs: Any) -> QuantizationSearchParams:
        asked.append(kwargs)
        return QuantizationSearchParams(**kwargs)

    monkeypatch.setattr(edge_module, "QuantizationSearchParams", recording)
    store = QdrantEdgeStore(edge_dir, quantization="int8")
    store.create_collection("old", 8)  # exists: a no-op, it stays unquantised
    store.create_collection("new", 8)
    for name in ("old", "older", "new"):
        store.upsert(name, random_points(np.random.default_rng(0), 5, 8))
        assert len(store.search(name, np.ones(8, np.float32), 3)) == 3
    store.close()

    assert asked == [{"rescore": True, "oversampling": 2.0}]  # "new" alone
    stored = {
        name: json.loads((edge_dir / name / "collection.json").read_text(encoding="utf-8"))
        for name in ("old", "older", "new")
    }
    assert stored["old"]["quantization"] == "none"
    assert "quantization" not in stored["older"]
    assert stored["new"]["quantization"] == "int8"


def test_edge_refuses_a_collection_with_an_unknown_quantization(edge_dir: Path) -> None:
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("docs", 8)
    store.close()
    path = edge_dir / "docs" / "collection.json"
    path.write_text(json.dumps({"name": "docs", "dim": 8, "quantization": "int3"}), "utf-8")
    with pytest.raises(RuntimeError, match="unknown vector quantization 'int3'"):
        QdrantEdgeStore(edge_dir)


@pytest.mark.parametrize("kind", BACKENDS)
def test_an_unknown_quantization_is_refused(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown vector quantization 'int4'"):
        open_backend(kind, tmp_path, quantization="int4")  # type: ignore[arg-type]


INT8 = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(
        type=models.ScalarType.INT8, quantile=0.99, always_ram=True
    )
)


def test_server_collections_are_created_int8_with_the_originals_on_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = QdrantClient(location=":memory:")
    sent: list[dict[str, Any]] = []
    create = client.create_collection

    def recording_create(*args: Any, **kwargs: Any) -> bool:
        sent.append(kwargs)
        return create(*args, **kwargs)

    monkeypatch.setattr(client, "create_collection", recording_create)
    QdrantClientStore(client, quantization="int8").create_collection("quantised", 4)
    QdrantClientStore(client).create_collection("plain", 4)
    quantised, plain = sent
    assert quantised["quantization_config"] == INT8
    assert quantised["vectors_config"].on_disk is True
    assert plain["quantization_config"] is None
    assert plain["vectors_config"].on_disk is None
    client.close()


def test_searches_on_a_quantised_server_collection_ask_for_rescoring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = QdrantClient(location=":memory:")
    QdrantClientStore(client, quantization="int8").create_collection("quantised", 4)
    QdrantClientStore(client).create_collection("plain", 4)
    # Local mode forgets the quantisation config; a server reports it, as this stand-in does.
    get_collection = client.get_collection

    def as_a_server(name: str) -> models.CollectionInfo:
        info = get_collection(name).model_copy(deep=True)
        if name == "quantised":
            info.config.quantization_config = INT8
        return info

    monkeypatch.setattr(client, "get_collection", as_a_server)
    asked = record_search_params(monkeypatch, client)
    store = QdrantClientStore(client)  # what it knows about a collection comes from the server
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode: "search_params has no effect"
        store.search("quantised", np.ones(4, np.float32), 3)
        store.search("plain", np.ones(4, np.float32), 3)
    rescored = models.SearchParams(
        quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.0)
    )
    assert asked == [rescored, None]
    store.close()
