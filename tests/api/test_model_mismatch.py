"""A collection filled by another model is refused (409), not searched: two models' vectors
share a dimension (384) but not a space, so the scores would be silently meaningless."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.background_index import BackgroundIndexer
from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.base import Point
from app.store.edge import QdrantEdgeStore
from tests.conftest import _free_port, serve_in_thread

OTHER_MODEL = "e5-l12-hybrid-200"
POINT_ID = "00000000-0000-0000-0000-000000000001"


def test_collections_of_another_model_answer_409(encoder: OnnxEncoder, tmp_path: Path) -> None:
    assert encoder.card.name != OTHER_MODEL
    store = QdrantEdgeStore(tmp_path / "store")
    vector = np.ones(encoder.dim, np.float32) / np.sqrt(encoder.dim)
    for name, model in (("theirs", OTHER_MODEL), ("legacy", None)):
        store.create_collection(name, encoder.dim, model)
        store.upsert(name, [Point(POINT_ID, vector, {"text": "x", "language": "eng"})])
    app = create_app(Settings(), SearchService(encoder, store, Metrics()))
    for url in serve_in_thread(app, _free_port()):
        search = httpx.post(f"{url}/v1/search", json={"query": "freedom", "collection": "theirs"})
        upsert = httpx.post(
            f"{url}/v1/collections/theirs/documents",
            json={"documents": [{"id": "d1", "text": "Everyone has the right to life."}]},
        )
        legacy = httpx.post(f"{url}/v1/search", json={"query": "freedom", "collection": "legacy"})
        listed = httpx.get(f"{url}/v1/collections").json()["collections"]
        untouched = store.count("theirs")

    for refused in (search, upsert):
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "model_mismatch"
        assert OTHER_MODEL in error["message"] and encoder.card.name in error["message"]
    assert untouched == 1  # the refused upsert wrote nothing
    assert legacy.status_code == 200  # created before models were recorded: taken on trust
    assert {c["name"]: c["model"] for c in listed} == {"theirs": OTHER_MODEL, "legacy": None}


def test_indexing_records_the_model(encoder: OnnxEncoder, tmp_path: Path) -> None:
    store = QdrantEdgeStore(tmp_path / "store")
    service = SearchService(encoder, store, Metrics())
    app = create_app(Settings(), service)
    for url in serve_in_thread(app, _free_port()):
        response = httpx.post(
            f"{url}/v1/collections/mine/documents",
            json={"documents": [{"id": "d1", "text": "Everyone has the right to life."}]},
        )
        recorded = store.encoder("mine")
    assert response.status_code == 200, response.text
    assert recorded == encoder.card.name


def test_start_up_indexing_into_another_models_collection_says_how_to_reindex(
    encoder: OnnxEncoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After the default model changes, `make run`'s demo collection holds the old model's
    vectors: the start-up job stops with the remedy, and writes nothing."""
    store = QdrantEdgeStore(tmp_path / "store")
    vector = np.ones(encoder.dim, np.float32) / np.sqrt(encoder.dim)
    store.create_collection("udhr", encoder.dim, OTHER_MODEL)
    store.upsert("udhr", [Point(POINT_ID, vector, {"text": "x", "language": "eng"})])
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "d1", "text": "Everyone has the right to life."}\n')
    job = BackgroundIndexer(corpus, "udhr", SearchService(encoder, store, Metrics()))
    with caplog.at_level(logging.ERROR, logger="app.background_index"):
        job.start()
        job.join(timeout=60)
    assert "DELETE /v1/collections/udhr" in caplog.text and OTHER_MODEL in caplog.text
    assert store.count("udhr") == 1
