"""The tiny recipe end to end: real teacher, real 2-layer student, real data, real export."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertModel

from app.encoder import OnnxEncoder
from app.model_card import ModelCard
from models.distill.encoding import embed, load_tokenizer
from models.distill.pipeline import distill_and_export
from models.distill.recipe import Recipe
from models.distill.student import layer_selection
from models.distill.train import CHECKPOINT, batch_indices, distill

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_CACHE = REPO_ROOT / ".cache" / "packages"
TINY_RECIPE = REPO_ROOT / "recipes" / "tiny-l2.toml"


def _tiny_recipe(model_dir: Path) -> Recipe:
    recipe = Recipe.load(TINY_RECIPE)
    return dataclasses.replace(
        recipe,
        teacher=dataclasses.replace(recipe.teacher, path=str(model_dir / "hf")),
        student=dataclasses.replace(recipe.student, init=str(model_dir)),
    )


@pytest.fixture(scope="module")
def interrupted_run(
    model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Recipe, Path, Path]:
    """The tiny recipe stopped half-way, then run again: it must resume and export."""
    recipe = _tiny_recipe(model_dir)
    work, out = tmp_path_factory.mktemp("distill-work"), tmp_path_factory.mktemp("models")
    half = 6  # on a log boundary (2) but between checkpoints (4): the stop itself must save
    assert half % recipe.train.log_every == 0 and half % recipe.train.checkpoint_every
    stopped = distill_and_export(recipe, "tiny", out, work, PACKAGE_CACHE, stop_after=half)
    assert stopped is None
    assert (work / f"{recipe.name}-{recipe.fingerprint}" / CHECKPOINT).is_file()
    exported = distill_and_export(recipe, "tiny", out, work, PACKAGE_CACHE)
    assert exported is not None
    return recipe, exported, work


def test_tiny_recipe_lowers_the_loss_and_records_itself(
    interrupted_run: tuple[Recipe, Path, Path],
) -> None:
    recipe, model, _ = interrupted_run
    card = ModelCard.load(model)
    history = card.extra["training"]["history"]
    steps = [entry["step"] for entry in history]
    assert steps == list(
        range(recipe.train.log_every, recipe.train.steps + 1, recipe.train.log_every)
    )
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert card.extra["recipe"] == recipe.to_dict()
    assert card.extra["data"]["pairs"] == sum(card.extra["data"]["per_source"].values()) > 0
    assert card.extra["config"]["num_hidden_layers"] == 2
    assert (model / card.tokenizer_file).read_bytes() == (
        Path(recipe.student.init) / "tokenizer.json"
    ).read_bytes()


def test_resumed_run_matches_an_uninterrupted_one(
    interrupted_run: tuple[Recipe, Path, Path], tmp_path: Path
) -> None:
    recipe, model, work = interrupted_run
    shutil.copytree(work / "teacher", tmp_path / "work" / "teacher")  # the cached targets
    straight = distill(recipe, tmp_path / "work", PACKAGE_CACHE)
    resumed = ModelCard.load(model).extra["training"]["history"]
    uninterrupted = straight.state.history
    np.testing.assert_allclose(
        [h["loss"] for h in resumed], [h["loss"] for h in uninterrupted], rtol=1e-3
    )


def test_int8_student_agrees_with_torch_fp32(
    interrupted_run: tuple[Recipe, Path, Path], sentences: list[str]
) -> None:
    _, model, _ = interrupted_run
    student = BertModel.from_pretrained(str(model / "hf"), add_pooling_layer=False).eval()
    tokenizer = load_tokenizer(model / "tokenizer.json", 512)
    with torch.inference_mode():
        reference = embed(student, tokenizer, ["passage: " + s for s in sentences]).numpy()
    int8 = OnnxEncoder(model, "int8").encode(sentences, "passage")
    cosines = np.sum(reference * int8, axis=1)
    assert cosines.mean() >= 0.99, cosines.min()


def test_layer_selection_forms() -> None:
    assert layer_selection("first:4", 12) == [0, 1, 2, 3]
    assert layer_selection("every:3", 12) == [2, 5, 8, 11]
    assert layer_selection([5, 0], 12) == [0, 5]
    with pytest.raises(ValueError):
        layer_selection([12], 12)


def test_batches_cover_every_pair_once_per_epoch() -> None:
    size, batch = 10, 4
    rows = [r for step in range(5) for r in batch_indices(size, batch, seed=3, step=step)]
    assert sorted(rows[:10]) == list(range(10))
    assert sorted(rows[10:20]) == list(range(10))
    assert batch_indices(size, batch, seed=3, step=2) == batch_indices(size, batch, seed=3, step=2)
