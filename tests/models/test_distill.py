"""The tiny recipe end to end: real teacher, real 2-layer student, real data, real export."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from transformers import BertModel

from app.encoder import OnnxEncoder
from app.model_card import CARD_FILE, ModelCard
from indexer.udhr import fetch_udhr, load_declarations
from models.__main__ import main as models_main
from models.data.pairs import ParallelPair
from models.distill import mix, teacher
from models.distill.encoding import (
    embed,
    encode_by_length,
    length_groups,
    load_tokenizer,
)
from models.distill.margins import margins
from models.distill.pipeline import distill_and_export, evaluate_into_card
from models.distill.recipe import DataSpec, Recipe, TeacherKind, TeacherSpec
from models.distill.student import layer_selection, load_student
from models.distill.study import StudyRow, run_study, write_results
from models.distill.study_report import BUDGET_PLOT, PLOT, study_table, write_study_report
from models.distill.train import CHECKPOINT, batch_indices, distill
from models.evaluation.report import write_report
from models.evaluation.suite import RunConfig, run_suite
from models.evaluation.udhr_data import aligned_texts

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
    student = BertModel.from_pretrained(str(model / "hf"), add_pooling_layer=False)
    student.eval()  # type: ignore[no-untyped-call]
    tokenizer = load_tokenizer(model / "tokenizer.json", 512)
    with torch.inference_mode():
        reference = embed(student, tokenizer, ["passage: " + s for s in sentences]).numpy()
    int8 = OnnxEncoder(model, "int8").encode(sentences, "passage")
    cosines = np.sum(reference * int8, axis=1)
    assert cosines.mean() >= 0.99, cosines.min()


def test_init_weight_blends_the_trained_student_back_towards_its_init(
    interrupted_run: tuple[Recipe, Path, Path], model_dir: Path, tmp_path: Path
) -> None:
    """The same recipe with `init_weight = 0.25` exports the same trained checkpoint again (no
    new run): each trained tensor is 0.25 x the init's + 0.75 x the trained one; frozen tables
    stay bit for bit; the recipe says so."""
    recipe, trained_model, work = interrupted_run
    blended_recipe = dataclasses.replace(
        recipe, student=dataclasses.replace(recipe.student, init_weight=0.25)
    )
    assert blended_recipe.fingerprint != recipe.fingerprint
    assert blended_recipe.training_fingerprint == recipe.training_fingerprint == recipe.fingerprint
    runs_before = sorted(p.name for p in work.iterdir())
    exported = distill_and_export(
        blended_recipe, "blended", tmp_path / "models", work, PACKAGE_CACHE
    )
    assert exported is not None
    assert sorted(p.name for p in work.iterdir()) == runs_before
    assert (
        ModelCard.load(exported).extra["training"]["history"]
        == ModelCard.load(trained_model).extra["training"]["history"]
    )
    trained = load_file(str(trained_model / "hf" / "model.safetensors"))
    blended = load_file(str(exported / "hf" / "model.safetensors"))
    init = {
        k: v.detach().numpy() for k, v in load_student(model_dir, [0, 1], 0.0).state_dict().items()
    }
    moved = [k for k in trained if not np.array_equal(trained[k], init[k])]
    assert moved and "embeddings.word_embeddings.weight" not in moved
    for name in trained:
        expected = 0.25 * init[name].astype(np.float64) + 0.75 * trained[name]
        np.testing.assert_allclose(blended[name], expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(
        blended["embeddings.word_embeddings.weight"], init["embeddings.word_embeddings.weight"]
    )
    card = ModelCard.load(exported).extra
    assert card["recipe"]["student"]["init_weight"] == 0.25
    assert "init_weight" not in recipe.to_dict()["student"]  # unused: the old fingerprint holds
    with pytest.raises(ValueError, match="init_weight"):
        dataclasses.replace(recipe.student, init_weight=1.0)


def test_a_recipe_whose_init_is_not_built_names_the_command_that_builds_it(
    model_dir: Path, tmp_path: Path
) -> None:
    recipe = _tiny_recipe(model_dir)
    missing = tmp_path / "e5-l12-hybrid-200"
    for changed in (
        {"student": dataclasses.replace(recipe.student, init=str(missing))},
        {"teacher": dataclasses.replace(recipe.teacher, path=str(missing / "hf"))},
    ):
        with pytest.raises(FileNotFoundError, match=r"distill --recipe recipes/e5-l12-hybrid-200"):
            distill(dataclasses.replace(recipe, **changed), tmp_path / "work", PACKAGE_CACHE)


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


def test_untrained_student_is_the_pruned_model(model_dir: Path, tmp_path: Path) -> None:
    """`steps = 0`: the study's untrained row; no teacher pass, the kept layers as they were."""
    recipe = _tiny_recipe(model_dir)
    recipe = dataclasses.replace(
        recipe, train=dataclasses.replace(recipe.train, steps=0, warmup_steps=0)
    )
    work = tmp_path / "work"
    exported = distill_and_export(recipe, "untrained", tmp_path / "models", work, PACKAGE_CACHE)
    assert exported is not None
    assert not (work / "teacher").exists()
    full = BertModel.from_pretrained(str(model_dir / "hf"), add_pooling_layer=False)
    pruned = BertModel.from_pretrained(str(exported / "hf"), add_pooling_layer=False)
    for kept, original in zip(pruned.encoder.layer, full.encoder.layer[:2], strict=True):
        for a, b in zip(kept.parameters(), original.parameters(), strict=True):
            assert torch.equal(a, b)
    card = ModelCard.load(exported)
    assert card.extra["training"]["steps"] == 0 and card.extra["data"]["pairs"] == 0


def test_teacher_pass_saves_progress_into_a_new_cache(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The e5 teacher saves progress every few batches, before its cache folder existed."""
    monkeypatch.setattr(teacher, "ENCODE_BATCH", 2)
    monkeypatch.setattr(teacher, "SAVE_EVERY", 1)
    spec = _tiny_recipe(model_dir).teacher
    texts = [f"query: sentence number {i}" for i in range(5)]
    cache = tmp_path / "fresh" / "teacher"
    vectors = teacher.teacher_embeddings(spec, texts, 32, cache)
    assert vectors.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert [p.suffix for p in cache.iterdir()] == [".npy"]  # progress file removed


def test_study_sets_students_beside_the_base_model(
    interrupted_run: tuple[Recipe, Path, Path], model_dir: Path, tmp_path: Path
) -> None:
    recipe, student, _ = interrupted_run
    rows = [StudyRow("base", model_dir), StudyRow(recipe.name, student, TINY_RECIPE)]
    base_card = (model_dir / CARD_FILE).read_bytes()
    results = run_study(
        rows, languages=2, tasks=("udhr-bitext",), cache_dir=tmp_path / "cache", log=print
    )
    base, tiny = results["rows"]
    assert (base["layers"], tiny["layers"]) == (12, 2)
    assert tiny["steps"] == recipe.train.steps and "steps" not in base
    assert tiny["bf16"] is recipe.train.bf16
    assert 0 <= tiny["udhr_all"] < base["udhr_all"] <= 1  # 12 steps do not make a 2-layer model
    assert tiny["encode_passages_per_s"] > base["encode_passages_per_s"] > 0
    assert tiny["pool_map"] is None  # a task not run is reported as missing, not as zero
    card = ModelCard.load(student).extra  # the student's figures travel with it
    assert set(card["languages"]) == {"swh", "yor"}
    assert card["evaluation"]["udhr_bitext_acc1"]["all"]["mean"] == tiny["udhr_all"]
    assert (model_dir / CARD_FILE).read_bytes() == base_card  # the base keeps its own
    results["command"] = "python -m models study --recipes recipes/tiny-l2.toml"
    readme = write_study_report(results, tmp_path / "study", [recipe.name, "not-in-the-study"])
    text = readme.read_text()
    assert f"| {recipe.name} | 2 |" in text and "python -m models distill --recipe" in text
    assert "| speed: UDHR paragraphs >= 2x the base int8 | yes |" in text
    assert "| speed: short queries >= 2x the base int8 | yes |" in text
    assert "| pool mAP >= base | not measured |" in text  # a test-split task: not here
    assert f"## Goals for {recipe.name}" in text and "not-in-the-study" not in text
    assert (tmp_path / "study" / PLOT).stat().st_size > 0
    assert (tmp_path / "study" / BUDGET_PLOT).stat().st_size > 0
    write_results(results, tmp_path / "study")
    readme.unlink()
    args = ["study", "--report-only", "--out", str(tmp_path / "study"), "--candidate", recipe.name]
    assert models_main(args) == 0  # the report again from results.json, as recorded
    assert readme.read_text() == text


def test_evaluating_a_student_sets_it_beside_the_packaged_model(
    interrupted_run: tuple[Recipe, Path, Path], model_dir: Path, tmp_path: Path
) -> None:
    """`make eval` of a student: the packaged model runs as a baseline, both int8 graphs are
    timed side by side on passages and on short queries, and the report checks the
    distillation goals on the test split (French here; Swahili is development)."""
    _, student, _ = interrupted_run
    config = RunConfig(
        model=str(student),
        with_baselines=True,
        tasks=("udhr-bitext", "multilingual-pool", "code-switched", "questions"),
        variants=("int8",),
        cache_dir=tmp_path / "cache",
        models_dir=model_dir.parent,
        command="python -m models evaluate --model tiny --baselines --languages swh,fra",
        codes=("swh", "fra"),
    )
    results = run_suite(config, log=print)
    roles = [(e["role"], e["variant"]) for e in results["encoders"]]
    assert roles[:2] == [("model", "int8"), ("baseline", "int8")]
    for speeds in (results["side_by_side"][k] for k in ("passages_per_s", "queries_per_s")):
        assert speeds["model"] > speeds["baseline"] > 0  # 2 layers against 12
    readme = write_report(results, tmp_path / "eval").read_text(encoding="utf-8")
    assert "## Distillation goals: e5-tiny-l2 (int8) vs multilingual-e5-small (int8)" in readme
    assert "1 of the 2 evaluated UDHR languages" in readme
    assert "| speed: UDHR paragraphs >= 2x the base int8 | yes |" in readme
    assert "| speed: short queries >= 2x the base int8 | yes |" in readme
    # 12 steps do not make a 2-layer model as good as the base on French
    assert "| UDHR acc@1, all languages >= base | no |" in readme
    assert "| pool mAP >= base | no |" in readme
    questions = re.escape("| English questions acc@1 >= base in every language | ")
    questions += r"(yes|no) \| ([01]) of 1 languages; macro "
    (verdict, count), *_ = re.findall(questions, readme)  # French, measured for both models
    assert (verdict, count) in {("yes", "1"), ("no", "0")}
    section = readme[readme.index("## Distillation goals") : readme.index("## UDHR bitext")]
    # every goal measured in this run but the unseen languages': French is seen in pre-training
    assert "| UDHR acc@1, unseen languages >= base | not measured |" in section
    assert section.count("| not measured |") == 1
    pool = results["encoders"][0]["tasks"]["multilingual-pool"]["asymmetric"]
    assert pool["languages"] == ["eng", "fra"]


def test_a_run_without_a_published_evaluation_evaluates_into_the_card(
    interrupted_run: tuple[Recipe, Path, Path], tmp_path: Path
) -> None:
    _, student, _ = interrupted_run
    evaluate_into_card(student, languages=2, cache_dir=tmp_path / "cache")
    card = ModelCard.load(student).extra
    assert set(card["languages"]) == {"swh", "yor"}
    assert card["evaluation"]["variant"] == "int8"
    assert card["evaluation"]["command"].startswith(f"python -m models evaluate --model {student}")


def test_study_table_says_which_rows_ran_in_bf16() -> None:
    figures = {"udhr_all": 0.5, "udhr_seen": 0.6, "udhr_unseen": 0.4, "pool_map": 0.2}
    base = {"name": "base", "layers": 12, "encode_passages_per_s": 100.0, "nt_acc1": 0.5}
    student = base | {
        "name": "student",
        "layers": 6,
        "teacher": "multilingual-e5-small",
        "contrastive_weight": 0.01,
        "steps": 400,
        "batch_size": 64,
        "pairs": 32290,
        "languages": 326,
        "train_minutes": 8.3,
        "encode_passages_per_s": 200.0,
    }
    older = student | {"name": "older"}  # results.json rows from before the switch: no key
    lines = study_table([base | figures, student | figures | {"bf16": True}, older | figures])
    assert "| student | 6 | multilingual-e5-small, hybrid 0.01, bf16 | 400 x 64 |" in lines[3]
    assert "| older | 6 | multilingual-e5-small, hybrid 0.01 | 400 x 64 |" in lines[4]
    assert "| 2.00 |" in lines[3]


def test_mix_caps_each_source_and_language(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = [
        ParallelPair(source, lang, lang, f"en {source} {i}", f"{lang} {source} {i}")
        for source in ("quran", "cldr-names")
        for lang in ("fra", "swh")
        for i in range(50)
    ]
    monkeypatch.setattr(mix, "load_pairs", lambda sources, cache: iter(pairs))
    spec = DataSpec(
        sources=["quran", "cldr-names"],
        max_pairs_per_language=5,
        max_pairs_per_language_by_source={"quran": 20},
    )
    counts = mix.build_mix(spec, seed=1, package_cache=Path("unused")).counts()
    assert counts == {"cldr-names": {"fra": 5, "swh": 5}, "quran": {"fra": 20, "swh": 20}}


def test_margins_measure_how_far_the_translation_stands_out(model_dir: Path) -> None:
    texts = aligned_texts(load_declarations(fetch_udhr(PACKAGE_CACHE)))
    measured = margins(model_dir, "swh", texts)
    assert measured.mean_wrong < measured.best_wrong < 1
    assert measured.margin > 0 and measured.accuracy > 0.5  # the packaged model reads Swahili


def test_length_groups_pool_like_one_padded_batch(model_dir: Path, sentences: list[str]) -> None:
    """Splitting a batch by length changes the padding, not the vectors or their order."""
    student = load_student(model_dir, [0, 1], dropout=0.0)
    student.eval()  # type: ignore[no-untyped-call]
    tokenizer = load_tokenizer(model_dir / "tokenizer.json", 64)
    texts = ["query: " + s for s in sentences[:12]] + ["x", "a much longer one " * 3]
    batches = length_groups(tokenizer, texts)
    assert sorted(row for b in batches for row in b.rows) == list(range(len(texts)))
    assert max(b.ids.shape[1] for b in batches[:-1]) < batches[-1].ids.shape[1]
    with torch.inference_mode():
        grouped = encode_by_length(student, tokenizer, texts).vectors
        together = embed(student, tokenizer, texts)
    torch.testing.assert_close(grouped, together, atol=1e-5, rtol=1e-4)


def test_bf16_recipe_trains_and_records_the_switch(model_dir: Path, tmp_path: Path) -> None:
    """bfloat16 autocast (student loop and e5 teacher pass) still lowers the loss."""
    recipe = _tiny_recipe(model_dir)
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, bf16=True))
    history = distill(recipe, tmp_path / "work", PACKAGE_CACHE).state.history
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert recipe.to_dict()["train"]["bf16"] is True


def test_token_level_recipe_trains_and_records_its_term(model_dir: Path, tmp_path: Path) -> None:
    """`token_weight`: the student's last hidden states of the translated side follow the
    teacher's; the term is logged and goes down with the rest."""
    recipe = _tiny_recipe(model_dir)
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, token_weight=0.05))
    history = distill(recipe, tmp_path / "work", PACKAGE_CACHE).state.history
    assert history[-1]["tokens"] < history[0]["tokens"]
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert recipe.to_dict()["train"]["token_weight"] == 0.05
    assert "token_weight" not in _tiny_recipe(model_dir).to_dict()["train"]


def test_token_level_needs_an_e5_teacher(model_dir: Path) -> None:
    recipe = _tiny_recipe(model_dir)
    with pytest.raises(ValueError, match="e5 teacher"):
        dataclasses.replace(
            recipe,
            teacher=dataclasses.replace(recipe.teacher, kind="sentence-transformers"),
            train=dataclasses.replace(recipe.train, token_weight=0.05),
        )


def test_recipes_without_the_new_fields_keep_their_fingerprint(model_dir: Path) -> None:
    """Fields added later are left out of the hash while unused: old work folders stay valid."""
    recipe = _tiny_recipe(model_dir)
    assert "bf16" not in recipe.to_dict()["train"]
    assert Recipe.load(REPO_ROOT / "recipes" / "e5-l6-hybrid.toml").fingerprint == "426f3c907cb8"


@pytest.mark.parametrize("kind", ["e5", "sentence-transformers"])
def test_bf16_teacher_pass_is_close_to_float32_and_cached_apart(
    kind: TeacherKind,
    model_dir: Path,
    sentences: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both teacher paths in bf16 (the sentence-transformers one loading the built model's
    `hf/` folder, mean pooled): close to their float32 vectors, cached under their own key."""
    monkeypatch.setattr(teacher, "sentence_transformers_root", lambda *_: model_dir)
    spec = TeacherSpec(kind=kind, path=str(model_dir / "hf"), package="p", model_subdir="hf")
    texts = ["passage: " + s for s in sentences]
    full = teacher.teacher_embeddings(spec, texts, 64, tmp_path)
    half = teacher.teacher_embeddings(spec, texts, 64, tmp_path, bf16=True)
    assert full.dtype == half.dtype == np.float32
    assert len(list(tmp_path.glob("teacher-*.npy"))) == 2
    cosines = np.sum(full * half, axis=1)
    assert cosines.min() > 0.99 and not np.array_equal(full, half)


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("e5-l12-hybrid-b64", {"student": {"layers": "first:12"}}),
        ("e5-l4-hybrid-b64", {"student": {"layers": "first:4"}}),
        ("e5-l3-hybrid-b64", {"student": {"layers": "first:3"}}),
        ("e5-l12-hybrid-200", {"student": {"layers": "first:12"}, "train": {"steps": 200}}),
        ("e5-l8-hybrid-200", {"student": {"layers": "first:8"}, "train": {"steps": 200}}),
        (
            "e5-l12-wise-40",
            {"student": {"layers": "first:12", "init_weight": 0.6}, "train": {"steps": 200}},
        ),
        (
            "e5-l6-from-l12-200",
            {
                "teacher": {"path": "artifacts/models/e5-l12-hybrid-200/hf"},
                "student": {"init": "artifacts/models/e5-l12-hybrid-200"},
            },
        ),
        (
            "mpnet-l6-hybrid-b64",
            {"teacher": Recipe.load(REPO_ROOT / "recipes" / "mpnet-l6.toml").teacher.to_dict()},
        ),
    ],
)
def test_study_variants_change_only_their_named_fields(name: str, changed: dict[str, Any]) -> None:
    """Variants of e5-l6-hybrid-b64 (study rows, the two-stage recipe) differ from it where
    their names say, nowhere else (a row compares one change)."""
    candidate = Recipe.load(REPO_ROOT / "recipes" / "e5-l6-hybrid-b64.toml").to_dict()
    variant = Recipe.load(REPO_ROOT / "recipes" / f"{name}.toml").to_dict()
    assert variant["name"] == name
    for section, fields in changed.items():
        assert variant[section] == candidate[section] | fields
    same = set(candidate) - set(changed) - {"name", "description"}
    assert {key: variant[key] for key in same} == {key: candidate[key] for key in same}
