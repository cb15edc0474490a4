"""`python -m models evaluate` end to end on two named languages (Swahili from the development
split, French from the test split) with the real int8 ONNX model: JSON, Markdown and plots land
in the output folder, and the card write round-trips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.model_card import CARD_FILE, ModelCard
from app.schemas import LanguageQuality
from models.__main__ import main


@pytest.fixture
def model_copy(model_dir: Path, tmp_path: Path) -> Path:
    """The built model with its own card (the weights are linked, not copied)."""
    card = ModelCard.load(model_dir)
    copy = tmp_path / "model"
    copy.mkdir()
    for file in card.files(model_dir):
        (copy / file.name).symlink_to(file)
    shutil.copy(model_dir / CARD_FILE, copy / CARD_FILE)
    return copy


def test_evaluate_writes_the_report_and_the_card(model_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    argv = ["evaluate", "--model", str(model_copy), "--variants", "int8", "--languages", "fra,swh"]
    argv += ["--tasks", "udhr-bitext", "multilingual-pool"]  # the others: test_evaluation_tasks
    argv += ["--out", str(out), "--cache", str(tmp_path / "cache"), "--write-card"]
    assert main(argv) == 0

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["languages"]["evaluated"] == 2
    assert results["languages"]["split"] == {"development": ["swh"], "test": ["fra"]}
    (entry,) = results["encoders"]
    served = entry["tasks"]["udhr-bitext"]["asymmetric"]
    assert [r["code"] for r in served["per_language"]] == ["swh", "fra"]  # evaluation order
    assert served["macro"]["all"]["mean"] > 0.5  # far above chance (1/60) for a real model
    assert "symmetric" in entry["tasks"]["udhr-bitext"]
    assert entry["throughput_texts_per_s"] > 0
    report = (out / "README.md").read_text(encoding="utf-8")
    assert "python -m models evaluate" in report
    assert "| swh | Swahili | yes |" in report
    assert (out / "udhr_bitext_by_language.png").stat().st_size > 1000
    pool = entry["tasks"]["multilingual-pool"]["asymmetric"]
    assert pool["languages"] == ["eng", "fra"]  # the pool is a test-split task
    assert 0.5 < pool["map"] <= 1.0
    assert "## Multilingual pool" in report

    card = ModelCard.load(model_copy)
    languages = card.extra["languages"]
    assert set(languages) == {"swh", "fra"}
    swahili = LanguageQuality(code="swh", **languages["swh"])
    assert swahili.name == "Swahili"
    assert swahili.seen_in_pretraining is True
    by_code = {r["code"]: r for r in served["per_language"]}
    assert swahili.accuracy == pytest.approx(by_code["swh"]["mean"], abs=1e-4)
    assert card.extra["evaluation"]["command"].startswith("python -m models evaluate")
    assert card.extra["builder"] == ModelCard.load(model_copy).extra["builder"]  # kept

    assert main(argv) == 0  # a rerun reads every embedding from the cache
    assert (
        json.loads((out / "results.json").read_text(encoding="utf-8"))["encoders"][0]["tasks"]
        == results["encoders"][0]["tasks"]
    )
