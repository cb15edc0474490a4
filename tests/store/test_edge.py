"""What only the embedded backend promises: threads, restarts, crashes and an HNSW index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_edge import EdgeShard, PayloadSchemaType

from app.store.base import (
    INDEXED_FIELDS,
    CollectionInfo,
    CollectionNotFoundError,
    Filter,
    PayloadIndexKind,
    Point,
    StoreInUseError,
)
from app.store.edge import SHARD_DIR, QdrantEdgeStore, _index_fields
from tests.store.points import random_points

ROOT = Path(__file__).resolve().parents[2]
DIM = 32


def test_concurrent_upserts_and_searches_from_eight_threads(edge_dir: Path) -> None:
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("docs", DIM)
    deadline = time.monotonic() + 3.0
    written = [0] * 4
    searches = [0] * 4
    errors: list[BaseException] = []

    def writer(slot: int) -> None:
        rng = np.random.default_rng(slot)
        try:
            while time.monotonic() < deadline:
                store.upsert("docs", random_points(rng, 25, DIM))
                written[slot] += 25
        except BaseException as error:
            errors.append(error)

    def searcher(slot: int) -> None:
        rng = np.random.default_rng(100 + slot)
        try:
            while time.monotonic() < deadline:
                query = rng.normal(size=DIM).astype(np.float32)
                hits = store.search("docs", query, 5, Filter(any_of={"language": ["en", "fr"]}))
                assert all(h.payload["language"] in ("en", "fr") for h in hits)
                store.count("docs")
                searches[slot] += 1
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=searcher, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert min(written) > 0
    assert min(searches) > 0
    assert store.count("docs") == sum(written)  # random ids: no two writers share one
    store.close()


def test_searches_racing_a_delete_see_the_collection_or_not_found(edge_dir: Path) -> None:
    store = QdrantEdgeStore(edge_dir)
    query = np.ones(DIM, np.float32)
    outcomes: Counter[str] = Counter()

    def searcher() -> None:
        while outcomes["missing"] < 20:
            try:
                store.search("docs", query, 3)
                outcomes["found"] += 1
            except CollectionNotFoundError:
                outcomes["missing"] += 1
            except Exception as error:
                outcomes[repr(error)] += 1
                return

    for _ in range(3):
        outcomes.clear()
        store.create_collection("docs", DIM)
        store.upsert("docs", random_points(np.random.default_rng(0), 50, DIM))
        thread = threading.Thread(target=searcher)
        thread.start()
        while outcomes["found"] < 5:
            time.sleep(0.001)
        store.delete_collection("docs")
        thread.join(timeout=10)
        assert set(outcomes) == {"found", "missing"}
    store.close()


def test_reopening_keeps_points_indexes_dimension_and_model(edge_dir: Path) -> None:
    points = random_points(np.random.default_rng(0), 200, DIM)
    query = np.random.default_rng(1).normal(size=DIM).astype(np.float32)
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("docs", DIM, "model-a")
    store.create_collection("empty", 8)
    store.upsert("docs", points)
    store.delete("docs", [points[0].id])
    before = store.search("docs", query, 10, Filter(any_of={"language": ["en"]}))
    store.close()

    reopened = QdrantEdgeStore(edge_dir)
    assert reopened.list_collections() == [
        CollectionInfo(name="docs", dim=DIM, points=199, encoder="model-a"),
        CollectionInfo(name="empty", dim=8, points=0),
    ]
    assert reopened.search("docs", query, 10, Filter(any_of={"language": ["en"]})) == before
    assert reopened.facet("docs", "language") == Counter(p.payload["language"] for p in points[1:])
    with pytest.raises(ValueError, match="dimension"):
        reopened.create_collection("docs", DIM * 2)
    reopened.close()


def test_a_second_store_on_the_same_directory_is_refused(edge_dir: Path) -> None:
    store = QdrantEdgeStore(edge_dir)
    with pytest.raises(StoreInUseError, match="already open in another store or process"):
        QdrantEdgeStore(edge_dir)
    store.close()
    QdrantEdgeStore(edge_dir).close()  # the lock goes with the store


def test_a_collection_without_metadata_is_not_listed_and_can_be_made_again(
    edge_dir: Path,
) -> None:
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("docs", DIM)
    store.upsert("docs", random_points(np.random.default_rng(0), 10, DIM))
    store.close()
    (edge_dir / "docs" / "collection.json").unlink()  # as if a crash cut create or delete short

    reopened = QdrantEdgeStore(edge_dir)
    assert reopened.list_collections() == []
    reopened.create_collection("docs", 8)
    assert reopened.collection_info("docs") == CollectionInfo(name="docs", dim=8, points=0)
    reopened.close()


WRITER = """
import sys
from pathlib import Path
import numpy as np
from app.store.edge import QdrantEdgeStore
from tests.store.points import random_points

store = QdrantEdgeStore(Path(sys.argv[1]))
store.create_collection("docs", 32)
rng = np.random.default_rng(0)
batch = 0
while True:
    points = random_points(rng, 50, 32)
    store.upsert("docs", points)
    print(batch, " ".join(p.id for p in points), flush=True)  # the acknowledgement
    batch += 1
"""


def test_acknowledged_writes_survive_sigkill(edge_dir: Path) -> None:
    acknowledged: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(edge_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as writer:
        assert writer.stdout is not None
        for line in writer.stdout:
            batch, *ids = line.split()
            acknowledged += ids
            if int(batch) == 5:
                writer.send_signal(signal.SIGKILL)  # right after the sixth acknowledgement
                break
    assert writer.returncode == -signal.SIGKILL

    store = QdrantEdgeStore(edge_dir)
    assert store.collection_info("docs").dim == 32
    found = store.retrieve("docs", acknowledged)
    assert [h.id for h in found] == acknowledged
    assert store.count("docs") >= len(acknowledged)  # a batch in flight may have landed too
    store.close()


def test_collections_past_the_indexing_threshold_get_an_hnsw_index(edge_dir: Path) -> None:
    dim = 384
    points = random_points(np.random.default_rng(0), 8_000, dim)  # above 10 MB of vectors
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("big", dim)
    for start in range(0, len(points), 500):
        store.upsert("big", points[start : start + 500])
    for point in points[::800]:
        best = store.search("big", point.vector, limit=1)[0]
        assert best.id == point.id
        assert best.score == pytest.approx(1.0, abs=1e-4)
    store.close()

    shard = EdgeShard.load(str(edge_dir / "big" / SHARD_DIR))
    assert shard.info().indexed_vectors_count > 0
    shard.close()


def test_a_bulk_load_builds_the_hnsw_index_once_at_its_end(edge_dir: Path) -> None:
    """Inside `bulk_load` upserts past the threshold build nothing (the points are found all the
    same, by a scan); leaving the block builds the index."""
    dim = 384
    points = random_points(np.random.default_rng(1), 8_000, dim)  # above the threshold
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("big", dim)
    shard = store._collections["big"].shard
    with store.bulk_load("big"):
        for start in range(0, len(points), 500):
            store.upsert("big", points[start : start + 500])
        assert shard.info().indexed_vectors_count == 0
        best = store.search("big", points[123].vector, limit=1)[0]
        assert best.id == points[123].id
    assert shard.info().indexed_vectors_count > 0
    for point in points[::800]:
        assert store.search("big", point.vector, limit=1)[0].id == point.id
    store.close()


def test_language_and_doc_id_get_keyword_indexes(edge_dir: Path) -> None:
    store = QdrantEdgeStore(edge_dir)
    store.create_collection("docs", DIM)
    store.close()
    shard = EdgeShard.load(str(edge_dir / "docs" / SHARD_DIR))
    schema = shard.info().payload_schema
    assert sorted(schema) == sorted(INDEXED_FIELDS)
    assert {info.data_type for info in schema.values()} == {PayloadSchemaType.Keyword}
    shard.close()


def test_configured_payload_indexes_are_made_on_create_and_on_reopening(edge_dir: Path) -> None:
    store = QdrantEdgeStore(edge_dir, payload_indexes={"metadata.article": "integer"})
    store.create_collection("docs", DIM)
    points = random_points(np.random.default_rng(0), 40, DIM)
    store.upsert("docs", points)
    store.close()
    # A collection made before `metadata.part` was configured gets its index when next opened.
    indexes: dict[str, PayloadIndexKind] = {
        "metadata.article": "integer",
        "metadata.part": "keyword",
    }
    store = QdrantEdgeStore(edge_dir, payload_indexes=indexes)
    in_part = [p for p in points if p.payload["metadata"].get("part") == "p1"]
    assert store.count("docs", Filter(equals={"metadata.part": "p1"})) == len(in_part)
    store.close()
    shard = EdgeShard.load(str(edge_dir / "docs" / SHARD_DIR))
    schema = shard.info().payload_schema
    assert schema["metadata.article"].data_type == PayloadSchemaType.Integer
    assert schema["metadata.part"].data_type == PayloadSchemaType.Keyword
    with_article = [p for p in points if "article" in p.payload["metadata"]]
    assert schema["metadata.article"].points == len(with_article) < len(points)
    shard.close()


def test_payload_indexes_on_keys_with_dots_or_other_scripts(edge_dir: Path) -> None:
    """The engine names `metadata.a.b` (the key "a.b") `metadata."a.b"` and `metadata.文章` as it
    is; an index is made once and found again on reopening, whichever way it is named."""
    indexes: dict[str, PayloadIndexKind] = {"metadata.a.b": "keyword", "metadata.文章": "integer"}
    for _ in range(2):
        store = QdrantEdgeStore(edge_dir, payload_indexes=indexes)
        store.create_collection("docs", DIM)
        vector = np.ones(DIM, dtype=np.float32)
        metadata = {"a.b": "x", "文章": 3}
        store.upsert("docs", [Point(str(uuid.uuid4()), vector, {"metadata": metadata})])
        assert store.count("docs", Filter(equals={"metadata.a.b": "x", "metadata.文章": 3})) >= 1
        store.close()
    shard = EdgeShard.load(str(edge_dir / "docs" / SHARD_DIR))
    schema = shard.info().payload_schema
    assert schema['metadata."a.b"'].data_type == PayloadSchemaType.Keyword
    assert schema["metadata.文章"].data_type == PayloadSchemaType.Integer
    assert schema["metadata.文章"].points == 2  # one index, holding both points
    recording = _RecordingShard(shard)
    _index_fields(recording, indexes)  # type: ignore[arg-type]
    assert recording.updates == 0  # none made again
    shard.close()


class _RecordingShard:
    """An edge shard whose updates are counted."""

    def __init__(self, shard: EdgeShard) -> None:
        self.shard = shard
        self.updates = 0

    def info(self) -> Any:
        return self.shard.info()

    def update(self, operation: Any) -> None:
        self.updates += 1
        self.shard.update(operation)
