"""The committed evaluation travels with the model: a build of the very same model (same name,
builder and source checksums) gets its per-language figures in the card; any other does not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.model_card import ModelCard
from models.build import attach_published_evaluation
from models.evaluation.card import model_identity


def _model_copy(model_dir: Path, target: Path) -> Path:
    card = ModelCard.load(model_dir)
    target.mkdir()
    for name in [card.tokenizer_file, *card.onnx_files.values()]:
        (target / name).symlink_to(model_dir / name)
    replace(card, extra={k: v for k, v in card.extra.items() if k != "languages"}).save(target)
    return target


def _results(identity: dict[str, Any]) -> dict[str, Any]:
    per_language = [
        {"code": "swh", "name": "Swahili", "seen_in_pretraining": True, "mean": 0.8667},
        {"code": "wol", "name": "Wolof", "seen_in_pretraining": False, "mean": 0.1833},
    ]
    bitext = {"macro": {"all": {"mean": 0.525}}, "per_language": per_language}
    return {
        "command": "python -m models evaluate --languages 2",
        "model_identity": identity,
        "languages": {"evaluated": 2},
        "encoders": [
            {
                "key": "m:int8",
                "role": "model",
                "variant": "int8",
                "throughput_texts_per_s": 12.5,
                "tasks": {"udhr-bitext": {"asymmetric": bitext}},
            }
        ],
    }


def test_evaluation_of_the_same_build_is_attached(model_dir: Path, tmp_path: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "model")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results(model_identity(ModelCard.load(copy)))))
    assert attach_published_evaluation(copy, results)
    card = ModelCard.load(copy)
    assert card.extra["languages"]["wol"] == {
        "name": "Wolof",
        "accuracy": 0.1833,
        "seen_in_pretraining": False,
    }
    assert card.extra["evaluation"]["variant"] == "int8"
    assert card.extra["evaluation"]["command"] == "python -m models evaluate --languages 2"


def test_evaluation_of_another_build_is_not_attached(model_dir: Path, tmp_path: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "model")
    other = {**model_identity(ModelCard.load(copy)), "builder": "models.build v0"}
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results(other)))
    assert not attach_published_evaluation(copy, results)
    assert "languages" not in ModelCard.load(copy).extra
