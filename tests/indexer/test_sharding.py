"""`--shard i/n`: n parallel jobs index every record exactly once, without duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.encoder import OnnxEncoder
from app.store.base import Filter
from app.store.edge import QdrantEdgeStore
from indexer.pipeline import index_file
from indexer.sharding import Shard


def test_shards_are_disjoint_and_cover_every_id() -> None:
    ids = [f"doc-{i}" for i in range(3000)]
    shards = [Shard(i, 3) for i in range(3)]
    owners = [[s for s in shards if s.owns(doc_id)] for doc_id in ids]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(1 for o in owners if o[0] is s) for s in shards]
    assert min(sizes) > 800  # a hash, not a range: shares are near-even


@pytest.mark.parametrize("spec", ["3/3", "-1/2", "1", "a/b", "1/0", ""])
def test_bad_shard_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        Shard.parse(spec)


def test_sharded_jobs_index_what_one_job_indexes(
    tmp_path: Path, encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    source = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": f"Short passage number {i}."}) for i in range(24)]
    lines.insert(5, "{broken json")
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = []
    for i in range(3):
        reject_file = tmp_path / f"rejects-{i}.jsonl"
        summary = index_file(
            source,
            encoder=encoder,
            store=store,
            collection="sharded",
            rejects=reject_file,
            shard=Shard(i, 3),
        )
        assert summary.indexed > 0
        rejects += reject_file.read_text(encoding="utf-8").splitlines()
    assert len(rejects) == 1  # the broken line is reported by exactly one job

    one_job = QdrantEdgeStore(tmp_path / "single")
    index_file(source, encoder=encoder, store=one_job, collection="sharded")
    ids = {h.id for h in store.find("sharded", Filter())}
    assert ids == {h.id for h in one_job.find("sharded", Filter())}
    assert store.count("sharded") == one_job.count("sharded") == 24
    one_job.close()
