"""`python -m bench.recall` on a tiny index: the harness reads the points back, builds a store
per storage and compares it with exact search. Checks the harness, not the figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.encoder import OnnxEncoder
from bench import recall
from bench.large_index import ensure_large_index


def test_recall_counts_hits_that_reach_the_tenth_best_score() -> None:
    matrix = np.eye(13, dtype=np.float32)
    matrix[12] = matrix[9]  # p12 is a duplicate of p9: tied for 10th place
    ids = [f"p{i}" for i in range(13)]
    query = np.zeros((1, 13), dtype=np.float32)
    query[0, :10] = np.arange(10, 0, -1)  # p0..p9 score, p10 and p11 do not
    truth = recall.ExactNeighbours(matrix, ids, query)
    top = [f"p{i}" for i in range(10)]
    assert truth.recall(0, top) == 1.0
    assert truth.recall(0, [*top[:9], "p12"]) == 1.0  # the tie is as good
    assert truth.recall(0, [*top[:9], "p10"]) == 0.9
    assert truth.recall(0, ["p10", "p11"]) == 0.0


def test_recall_run_writes_a_row_per_storage(
    tmp_path: Path, encoder: OnnxEncoder, model_dir: Path
) -> None:
    texts = [f"verse {i}: the right to rest and leisure, number {i}" for i in range(40)]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    index = tmp_path / "index"
    ensure_large_index(corpus, encoder, index, recall.COLLECTION)
    out = tmp_path / "out"
    code = recall.main([
        "--index", str(index), "--queries", "6", "--out", str(out),
        "--work-dir", str(tmp_path / "work"), "--model-dir", str(model_dir),
    ])  # fmt: skip
    assert code == 0
    results = json.loads((out / "recall.json").read_text(encoding="utf-8"))
    assert results["meta"]["points"] == 40 and results["meta"]["queries"] == 6
    rows = {(row["quantization"], row["hnsw_ef"]): row for row in results["storages"]}
    assert set(rows) == {(q, ef) for q in ("none", "int8") for ef in recall.HNSW_EFS}
    # 40 points sit in one small segment, searched exactly: recall must be perfect.
    assert all(rows[("none", ef)]["recall_at_10"] == 1.0 for ef in recall.HNSW_EFS)
    assert all(row["p50_ms"] > 0 for row in rows.values())
    assert (out / "recall.md").read_text(encoding="utf-8").startswith("# Recall")
    assert not (tmp_path / "work" / "none").exists()  # the per-storage stores are removed


def test_recall_needs_the_index(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        recall.main(["--index", str(tmp_path / "missing")])
