"""The settings pick the backend: a Qdrant server when QDRANT_URL is set, else embedded."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings
from app.store import open_store
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore


def test_without_a_server_the_store_is_embedded_under_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QDRANT_URL", raising=False)
    monkeypatch.setenv("POLYSEARCH_DATA_DIR", str(tmp_path / "qdrant"))
    store = open_store(Settings())
    assert isinstance(store, QdrantEdgeStore)
    store.create_collection("docs", 4)
    store.close()
    assert (tmp_path / "qdrant" / "docs" / "collection.json").is_file()


def test_qdrant_url_selects_the_server_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    # The client checks the server's version in a background thread and only warns when it cannot
    # reach it: waiting for that warning shows the URL was passed through.
    with pytest.warns(UserWarning, match="server version") as caught:
        store = open_store(Settings())
        deadline = time.monotonic() + 10
        while not any("server version" in str(w.message) for w in caught):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert isinstance(store, QdrantClientStore)
    store.close()


def test_server_collections_get_the_configured_shards_and_replicas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What reaches the Qdrant API when a collection is created for a cluster."""
    from qdrant_client import QdrantClient

    client = QdrantClient(location=":memory:")
    sent: list[dict[str, object]] = []
    create = client.create_collection

    def recording_create(*args: object, **kwargs: object) -> bool:
        sent.append(kwargs)
        return create(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client, "create_collection", recording_create)
    store = QdrantClientStore(client, shards=6, replicas=2)
    store.create_collection("docs", 4)
    store.create_collection("docs", 4)  # idempotent: created once
    assert [(k["shard_number"], k["replication_factor"]) for k in sent] == [(6, 2)]
    with pytest.raises(ValueError, match="positive"):
        QdrantClientStore(client, shards=0)
    store.close()


def test_shard_and_replica_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLYSEARCH_QDRANT_SHARDS", "6")
    monkeypatch.setenv("POLYSEARCH_QDRANT_REPLICAS", "2")
    settings = Settings()
    assert (settings.qdrant_shards, settings.qdrant_replicas) == (6, 2)


def test_vector_quantization_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYSEARCH_VECTOR_QUANTIZATION", raising=False)
    assert Settings().vector_quantization == "int8"
    monkeypatch.setenv("POLYSEARCH_VECTOR_QUANTIZATION", "none")
    assert Settings().vector_quantization == "none"
    monkeypatch.setenv("POLYSEARCH_VECTOR_QUANTIZATION", "int4")
    with pytest.raises(ValidationError, match="vector_quantization"):
        Settings()


def test_both_backends_get_the_vector_quantization(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYSEARCH_VECTOR_QUANTIZATION", "none")
    monkeypatch.delenv("QDRANT_URL", raising=False)
    monkeypatch.setenv("POLYSEARCH_DATA_DIR", str(tmp_path / "qdrant"))
    store = open_store(Settings())
    store.create_collection("docs", 4)
    store.close()
    metadata = json.loads((tmp_path / "qdrant" / "docs" / "collection.json").read_text("utf-8"))
    assert metadata["quantization"] == "none"

    opened: list[dict[str, object]] = []

    def recording_store(*args: object, **kwargs: object) -> object:
        opened.append(kwargs)
        return object()

    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POLYSEARCH_SEARCH_HNSW_EF", "128")
    monkeypatch.setattr("qdrant_client.QdrantClient", lambda **kwargs: object())  # no connection
    monkeypatch.setattr("app.store.factory.QdrantClientStore", recording_store)
    open_store(Settings())
    indexes = {"metadata.article": "integer"}  # the default payload_indexes
    assert opened == [{"quantization": "none", "hnsw_ef": 128, "payload_indexes": indexes}]


def test_payload_indexes_reach_both_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setting names the fields; the embedded store indexes them with their kind, and the
    remote store asks the server for the same indexes (recorded: local mode keeps none)."""
    from qdrant_client import QdrantClient, models
    from qdrant_edge import EdgeShard, PayloadSchemaType

    monkeypatch.delenv("QDRANT_URL", raising=False)
    indexes = {"metadata.article": "integer", "metadata.tag": "keyword"}
    monkeypatch.setenv("POLYSEARCH_PAYLOAD_INDEXES", json.dumps(indexes))
    monkeypatch.setenv("POLYSEARCH_DATA_DIR", str(tmp_path / "qdrant"))
    settings = Settings()
    store = open_store(settings)
    store.create_collection("docs", 4)
    store.close()
    shard = EdgeShard.load(str(tmp_path / "qdrant" / "docs" / "shard"))
    schema = {key: info.data_type for key, info in shard.info().payload_schema.items()}
    shard.close()
    assert schema["metadata.article"] == PayloadSchemaType.Integer
    assert schema["metadata.tag"] == PayloadSchemaType.Keyword

    client = QdrantClient(location=":memory:")
    asked: dict[str, object] = {}
    monkeypatch.setattr(
        client,
        "create_payload_index",
        lambda name, key, field_schema, wait: asked.__setitem__(key, field_schema),
    )
    QdrantClientStore(client, payload_indexes=settings.payload_indexes).create_collection("d", 4)
    assert asked == {
        "language": models.PayloadSchemaType.KEYWORD,
        "doc_id": models.PayloadSchemaType.KEYWORD,
        "metadata.article": models.PayloadSchemaType.INTEGER,
        "metadata.tag": models.PayloadSchemaType.KEYWORD,
    }
