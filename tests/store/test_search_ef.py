"""`POLYSEARCH_SEARCH_HNSW_EF`: the HNSW beam width of every search, on both backends."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from qdrant_client import QdrantClient, models

import app.store.edge as edge_module
from app.settings import Settings
from app.store.base import Point
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore
from tests.store.conftest import record_search_params
from tests.store.points import brute_force, random_points

DIM = 8
# Random 256-dimensional vectors are hard for HNSW, and 12k of them (12 MB) are past
# Qdrant's default indexing threshold (10 MB), so the engine builds the index on upsert.
HNSW_POINTS = 12_000
HNSW_DIM = 256
QUERIES = 30
TOP_K = 10


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYSEARCH_SEARCH_HNSW_EF", raising=False)
    assert Settings().search_hnsw_ef == 256  # chosen by bench.recall
    monkeypatch.setenv("POLYSEARCH_SEARCH_HNSW_EF", "256")
    assert Settings().search_hnsw_ef == 256
    monkeypatch.setenv("POLYSEARCH_SEARCH_HNSW_EF", "0")
    with pytest.raises(ValidationError, match="search_hnsw_ef"):
        Settings()


@pytest.mark.parametrize("store_class", [QdrantEdgeStore, QdrantClientStore])
def test_stores_refuse_a_beam_width_below_one(tmp_path: Path, store_class: Any) -> None:
    target = tmp_path if store_class is QdrantEdgeStore else QdrantClient(location=":memory:")
    with pytest.raises(ValueError, match="hnsw_ef"):
        store_class(target, hnsw_ef=0)


def test_the_edge_store_builds_search_params_from_the_beam_width() -> None:
    assert edge_module._search_params("none", None) is None  # the engine's default
    params = edge_module._search_params("none", 512)
    assert params is not None and params.hnsw_ef == 512 and params.quantization is None


def _recall(store: QdrantEdgeStore, points: list[Point], queries: np.ndarray) -> float:
    found = 0
    for query in queries:
        truth = {point_id for point_id, _ in brute_force(points, query, TOP_K)}
        found += len(truth & {h.id for h in store.search("docs", query, TOP_K)})
    return found / (TOP_K * len(queries))


def test_a_wider_beam_finds_more_of_the_exact_neighbours(tmp_path: Path) -> None:
    """Enough points in enough dimensions that the engine builds an HNSW index (past its
    indexing threshold) and its search is approximate: a beam of `TOP_K` misses neighbours
    that brute force finds, a wide one (not the default) finds nearly all of them."""
    rng = np.random.default_rng(3)
    points = random_points(rng, HNSW_POINTS, HNSW_DIM)
    queries = rng.normal(size=(QUERIES, HNSW_DIM)).astype(np.float32)
    built = QdrantEdgeStore(tmp_path)
    built.create_collection("docs", HNSW_DIM)
    for start in range(0, len(points), 1_000):
        built.upsert("docs", points[start : start + 1_000])
    built.close()
    recalls = {}
    for hnsw_ef in (TOP_K, 512):  # the same files, reopened with each beam width
        store = QdrantEdgeStore(tmp_path, hnsw_ef=hnsw_ef)
        try:
            recalls[hnsw_ef] = _recall(store, points, queries)
        finally:
            store.close()
    assert recalls[TOP_K] < 0.9, recalls  # approximate: the index, not a full scan, answered
    assert recalls[512] > recalls[TOP_K] + 0.1, recalls
    assert recalls[512] >= 0.95, recalls


def test_the_client_store_sends_the_beam_width(monkeypatch: pytest.MonkeyPatch) -> None:
    client = QdrantClient(location=":memory:")
    asked = record_search_params(monkeypatch, client)
    store = QdrantClientStore(client, hnsw_ef=300)
    store.create_collection("docs", DIM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode: "search_params has no effect"
        store.search("docs", np.ones(DIM, np.float32), 3)
    assert asked == [models.SearchParams(hnsw_ef=300)]
    store.close()
