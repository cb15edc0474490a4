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
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore
from tests.store.conftest import record_search_params
from tests.store.points import random_points

DIM = 8


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


def test_the_edge_store_searches_with_the_beam_width(tmp_path: Path) -> None:
    assert edge_module._search_params("none", None) is None  # the engine's default
    params = edge_module._search_params("none", 512)
    assert params is not None and params.hnsw_ef == 512 and params.quantization is None
    points = random_points(np.random.default_rng(3), 50, DIM)
    default, wide = QdrantEdgeStore(tmp_path / "a"), QdrantEdgeStore(tmp_path / "b", hnsw_ef=512)
    try:
        for store in (default, wide):
            store.create_collection("docs", DIM)
            store.upsert("docs", points)
        query = np.asarray(points[7].vector, dtype=np.float32)
        assert [h.id for h in wide.search("docs", query, 5)] == [
            h.id for h in default.search("docs", query, 5)
        ]
    finally:
        default.close()
        wide.close()


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
