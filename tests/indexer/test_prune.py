"""`python -m indexer FILE --prune`: the collection follows its file, deletions included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.encoder import OnnxEncoder
from app.store.base import Filter
from app.store.edge import QdrantEdgeStore
from indexer import prune as prune_module
from indexer.pipeline import index_file
from indexer.prune import prune
from tests.conftest import ROOT
from tests.indexer.cli import cli_env

TEXTS = {
    "a": "Everyone has the right to life.",
    "b": "No one shall be held in slavery.",
    "c": "Everyone has the right to rest and leisure.",
}


def _write(path: Path, ids: list[str], broken: bool = False) -> Path:
    rows = [json.dumps({"id": i, "text": TEXTS[i], "lang": "eng"}) for i in ids]
    if broken:
        rows.append(json.dumps({"id": "b", "text": ""}))  # b's line, broken: not a deletion
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def _stored_ids(data: Path) -> set[str]:
    store = QdrantEdgeStore(data)
    try:
        return set(store.facet("docs", "doc_id"))
    finally:
        store.close()


def _run(source: Path | str, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "indexer", str(source), "--collection", "docs", "--quiet"]
    return subprocess.run(
        [*command, *extra],
        cwd=ROOT,
        env=cli_env(data),
        capture_output=True,
        text=True,
        check=False,
    )


def test_prune_deletes_the_documents_the_file_no_longer_holds_and_nothing_else(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    """`encoder` is requested so the model is built before the subprocesses load it."""
    data = tmp_path / "qdrant"
    assert _run(_write(tmp_path / "all.jsonl", ["a", "b", "c"]), data).returncode == 0

    without_b = _write(tmp_path / "ac.jsonl", ["a", "c"])
    kept = _run(without_b, data)  # no --prune: nothing is deleted
    assert kept.returncode == 0 and "pruned" not in kept.stdout
    assert _stored_ids(data) == {"a", "b", "c"}

    broken = _run(_write(tmp_path / "broken.jsonl", ["a", "c"], broken=True), data, "--prune")
    assert broken.returncode == 1
    assert "not pruned: a rejected line may be a document to keep" in broken.stdout
    assert _stored_ids(data) == {"a", "b", "c"}

    pruned = _run(without_b, data, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "read 2, indexed 0, unchanged 2" in pruned.stdout
    assert "pruned 1 document the input no longer holds" in pruned.stdout
    assert _stored_ids(data) == {"a", "c"}


@pytest.mark.parametrize(
    ("source", "extra", "message"),
    [
        ("-", [], "--prune needs a file"),
        ("FILE", ["--shard", "1/2"], "--prune needs the whole input"),
    ],
    ids=["stdin", "shard"],
)
def test_prune_is_refused_where_the_input_ids_cannot_all_be_known(
    tmp_path: Path, source: str, extra: list[str], message: str
) -> None:
    path = _write(tmp_path / "all.jsonl", ["a"]) if source == "FILE" else source
    run = _run(path, tmp_path / "qdrant", "--prune", *extra)
    assert run.returncode == 2
    assert message in run.stderr


def test_an_empty_input_prunes_nothing(tmp_path: Path, encoder: OnnxEncoder) -> None:
    data = tmp_path / "qdrant"
    assert _run(_write(tmp_path / "all.jsonl", ["a", "b"]), data).returncode == 0
    run = _run(_write(tmp_path / "none.jsonl", []), data, "--prune")
    assert "not pruned: the input holds no record" in run.stdout
    assert _stored_ids(data) == {"a", "b"}


def test_prune_deletes_in_batches_every_chunk_of_each_document(
    tmp_path: Path,
    encoder: OnnxEncoder,
    store: QdrantEdgeStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "docs.jsonl"
    long_text = " ".join(["Everyone has the right to education."] * 120)  # several chunks
    rows = [{"id": f"d{i}", "text": long_text if i == 0 else TEXTS["a"]} for i in range(5)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    index_file(source, encoder=encoder, store=store, collection="docs")
    assert store.count("docs", Filter(equals={"doc_id": "d0"})) > 1
    monkeypatch.setattr(prune_module, "DELETE_BATCH", 2)

    assert prune(store, "docs", {"d4"}) == 4

    assert set(store.facet("docs", "doc_id")) == {"d4"}
    assert store.count("docs") == 1
