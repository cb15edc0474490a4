"""The independent UDHR bitext implementation (models/crosscheck.py) vs the committed figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from models.crosscheck import align, declaration_codes, evaluate, read_declaration

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "docs" / "eval" / "results.json"
TOLERANCE = 0.02


def _committed() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """results.json's language summary and its fp32 asymmetric UDHR bitext rows by code."""
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
    (entry,) = [e for e in data["encoders"] if e["key"] == "multilingual-e5-small:fp32"]
    rows = entry["tasks"]["udhr-bitext"]["asymmetric"]["per_language"]
    return data["languages"], {row["code"]: row for row in rows}


def test_alignment_selects_the_committed_translations_and_paragraphs() -> None:
    languages, rows = _committed()
    english = read_declaration("eng")
    alignments = [align(english, read_declaration(c)) for c in declaration_codes() if c != "eng"]
    assert len(alignments) + 1 == languages["translations_in_package"]
    assert sum(a.evaluated for a in alignments) == languages["aligned_with_english"]
    by_code = {a.code: a for a in alignments}
    assert {code: len(by_code[code].units) for code in rows} == {
        code: row["paragraphs"] for code, row in rows.items()
    }


@pytest.mark.torch
def test_two_languages_match_the_committed_figures(model_dir: Path) -> None:
    pytest.importorskip("torch", reason="torch is in the [train] extra")
    pytest.importorskip("transformers", reason="transformers is in the [train] extra")
    _, rows = _committed()
    scores = evaluate(["swh", "wol"], model_dir / "hf", progress=False)
    assert [score.code for score in scores] == ["swh", "wol"]
    for score in scores:
        committed = rows[score.code]
        assert score.paragraphs == committed["paragraphs"]
        for metric in ("xx_to_en", "en_to_xx", "mean"):
            assert getattr(score, metric) == pytest.approx(committed[metric], abs=TOLERANCE), (
                score.code,
                metric,
            )
