"""An exported student whose ONNX graphs an older builder wrote is rewritten from its own trained
weights (no training), so that a study or a run never measures yesterday's graphs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.model_card import ModelCard
from models.bert import BertConfig
from models.build import ONNX_FP32, ONNX_INT8
from models.distill.recipe import Recipe
from models.student_files import EXPORT_BUILDER, has_stale_graphs, rewrite_graphs, write_student
from tests.models.tiny_student import TINY_RECIPE, export_extra, two_layer_student


def _export(model_dir: Path, out: Path, builder: str) -> Path:
    recipe = Recipe.load(TINY_RECIPE)
    config = dataclasses.replace(
        BertConfig.from_hf_dict(ModelCard.load(model_dir).extra["config"]), num_hidden_layers=2
    )
    extra = export_extra(recipe) | {"builder": builder, "evaluation": {"udhr": 0.5}}
    return write_student("tiny", config, two_layer_student(model_dir), model_dir, out, extra)


def test_an_export_by_an_older_graph_builder_is_rewritten_from_its_weights(
    model_dir: Path, tmp_path: Path
) -> None:
    current = _export(model_dir, tmp_path / "current", EXPORT_BUILDER)
    assert not has_stale_graphs(current)
    stale = _export(model_dir, tmp_path / "stale", "models.distill.export v1")
    (stale / ONNX_INT8).write_bytes(b"the old graph")
    assert has_stale_graphs(stale)

    rewritten = rewrite_graphs(stale)

    assert rewritten == stale and not has_stale_graphs(stale)
    card, fresh = ModelCard.load(stale), ModelCard.load(current)
    files = [file.name for file in fresh.files(current)]
    assert {ONNX_FP32, ONNX_INT8, f"{ONNX_INT8}.data"} < set(files)
    assert [file.name for file in card.files(stale)] == files
    for name in files:
        assert (stale / name).read_bytes() == (current / name).read_bytes(), name
    assert card.extra["builder"] == EXPORT_BUILDER
    assert "evaluation" not in card.extra  # it measured the old graphs
    for kept in ("recipe_fingerprint", "training", "data", "layers_kept", "base_model"):
        assert card.extra[kept] == fresh.extra[kept], kept
    assert card.sources == fresh.sources


@pytest.mark.parametrize("builder", ["models.release v5", "models.build v6"])
def test_releases_and_the_packaged_model_are_never_rewritten_here(
    builder: str, model_dir: Path, tmp_path: Path
) -> None:
    assert not has_stale_graphs(_export(model_dir, tmp_path, builder))
