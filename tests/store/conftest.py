"""A fresh store per test from each backend, so one suite holds both to the same contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from app.settings import Quantization
from app.store.base import VectorStore
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore

BACKENDS = ("edge", "client")


def record_search_params(monkeypatch: pytest.MonkeyPatch, client: QdrantClient) -> list[Any]:
    """The `search_params` of every `query_points` call on `client`, in order, filled in as
    searches run (they still run against the client)."""
    asked: list[Any] = []
    query_points = client.query_points

    def recording_query(*args: Any, **kwargs: Any) -> models.QueryResponse:
        asked.append(kwargs.get("search_params"))
        return query_points(*args, **kwargs)

    monkeypatch.setattr(client, "query_points", recording_query)
    return asked


def open_backend(kind: str, data_dir: Path, quantization: Quantization = "none") -> VectorStore:
    if kind == "edge":
        return QdrantEdgeStore(data_dir, quantization=quantization)
    return QdrantClientStore(QdrantClient(location=":memory:"), quantization=quantization)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_backend(request.param, tmp_path / "qdrant")
    yield opened
    opened.close()


@pytest.fixture
def edge_dir(tmp_path: Path) -> Path:
    return tmp_path / "qdrant"
