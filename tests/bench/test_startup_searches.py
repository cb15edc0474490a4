"""`python -m bench.startup_searches`: searches during a real start-up indexing, then its end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.startup_searches import main


def test_the_command_searches_while_the_service_indexes_then_waits_for_the_end(
    model_dir: Path, udhr_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    lines = udhr_corpus.read_text(encoding="utf-8").splitlines()[:60]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["--corpus", str(corpus), "--model", model_dir.name]
    assert (
        main([*argv, "--models-dir", str(model_dir.parent), "--searches", "2", "--every", "0"]) == 0
    )
    out = capsys.readouterr().out
    assert re.search(r"^search 1: 200 in [\d.]+ ms \((while|after) ", out, re.MULTILINE), out
    assert re.search(r"^2 searches, [012] of them while indexing; 0 refused \(503\)$", out, re.M)
    assert re.search(r"^indexing: 60 documents in [\d.]+ s, [\d.]+ documents/s$", out, re.MULTILINE)
