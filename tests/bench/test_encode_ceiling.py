"""`python -m bench.encode_ceiling`: the corpus cut as the indexer cuts it, both figures printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.encoder import OnnxEncoder
from app.store.edge import QdrantEdgeStore
from bench.encode_ceiling import main, passage_batches
from indexer.pipeline import index_file


def _corpus(path: Path) -> Path:
    long_text = " ".join(
        f"Everyone has the right number {i} to rest and leisure." for i in range(90)
    )
    records = [{"id": "long", "text": long_text, "language": "eng"}] + [
        {"id": f"short-{i}", "text": f"Kila mtu ana haki ya kupumzika {i}.", "language": "swh"}
        for i in range(5)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_passages_are_the_ones_the_indexer_writes(tmp_path: Path, encoder: OnnxEncoder) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl")
    batches = passage_batches(corpus, encoder)
    store = QdrantEdgeStore(tmp_path / "store")
    try:
        summary = index_file(corpus, encoder=encoder, store=store, collection="c")
    finally:
        store.close()
    passages = [passage for batch in batches for passage in batch]
    assert len(passages) == summary.chunks > 6  # the long record was cut in several


def test_the_command_prints_both_figures_and_their_ratio(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl")
    argv = [
        "--corpus",
        str(corpus),
        "--model",
        model_dir.name,
        "--models-dir",
        str(model_dir.parent),
    ]
    assert main([*argv, "--rounds", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("encoding alone: ") and " of encoding alone (rounds: " in line
