"""Recipe file -> trained, exported student: the `distill` command's whole job."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from app.model_card import CARD_FILE, ModelCard
from indexer.registry import DEFAULT_CACHE
from models.build import attach_published_evaluation
from models.data.sources import pins
from models.distill.export import export_student
from models.distill.recipe import Recipe
from models.distill.train import DEFAULT_WORK, distill
from models.evaluation.arguments import DEFAULT_EMBEDDING_CACHE
from models.evaluation.card import SERVED_VARIANT, card_evaluation, write_card_evaluation
from models.evaluation.suite import RunConfig, run_suite
from models.student_files import EXPORT_BUILDER, has_stale_graphs, rewrite_graphs

DEFAULT_OUT = Path("artifacts/models")
CARD_EVALUATION_LANGUAGES = 22


def run_recipe(
    recipe_file: Path,
    out_dir: Path = DEFAULT_OUT,
    work_root: Path = DEFAULT_WORK,
    package_cache: Path = DEFAULT_CACHE,
    stop_after: int | None = None,
    max_minutes: float | None = None,
) -> Path | None:
    """Train (resuming if a checkpoint exists) and export; None when stopped early (at
    `stop_after` steps or after `max_minutes`). An export
    of this very recipe (same fingerprint in its card) is kept as it is. The card gets the
    published evaluation of this recipe (`docs/eval/`) where there is one, else a quick one."""
    recipe = Recipe.load(recipe_file)
    model_dir: Path | None = out_dir / recipe.name
    if is_export_of(recipe, out_dir / recipe.name):
        if has_stale_graphs(out_dir / recipe.name):
            print(f"{out_dir / recipe.name}: graphs rewritten ({EXPORT_BUILDER})", file=sys.stderr)
            rewrite_graphs(out_dir / recipe.name)
        else:
            print(f"{out_dir / recipe.name} is up to date", file=sys.stderr)
    else:
        model_dir = distill_and_export(
            recipe, str(recipe_file), out_dir, work_root, package_cache, stop_after, max_minutes
        )
    if model_dir is None or attach_published_evaluation(model_dir):
        return model_dir
    if "evaluation" not in ModelCard.load(model_dir).extra:
        evaluate_into_card(model_dir, package_cache=package_cache)
    return model_dir


def evaluate_into_card(
    model_dir: Path,
    languages: int = CARD_EVALUATION_LANGUAGES,
    cache_dir: Path = DEFAULT_EMBEDDING_CACHE,
    package_cache: Path = DEFAULT_CACHE,
) -> Path:
    """A student whose recipe has no published evaluation gets a quick one in its card: UDHR
    bitext over the first `languages` (the named low-resource ones), served variant and
    protocol, about a minute. `make eval MODEL=<name>` measures every language."""
    config = RunConfig(
        model=str(model_dir),
        tasks=("udhr-bitext",),
        variants=(SERVED_VARIANT,),
        languages=languages,
        cache_dir=cache_dir,
        package_cache=package_cache,
        command=f"python -m models evaluate --model {model_dir} --tasks udhr-bitext "
        f"--languages {languages} --variants {SERVED_VARIANT}",
        served_protocol_only=True,
    )
    results = run_suite(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    evaluated = card_evaluation(results)
    assert evaluated is not None  # the udhr-bitext task ran
    return write_card_evaluation(model_dir, *evaluated)


def is_export_of(recipe: Recipe, model_dir: Path) -> bool:
    card = model_dir / CARD_FILE
    return card.is_file() and (
        ModelCard.load(model_dir).extra.get("recipe_fingerprint") == recipe.fingerprint
    )


def distill_and_export(
    recipe: Recipe,
    recipe_label: str,
    out_dir: Path = DEFAULT_OUT,
    work_root: Path = DEFAULT_WORK,
    package_cache: Path = DEFAULT_CACHE,
    stop_after: int | None = None,
    max_minutes: float | None = None,
) -> Path | None:
    result = distill(recipe, work_root, package_cache, stop_after, max_minutes)
    if result.state.step < recipe.train.steps:
        print(f"stopped at step {result.state.step}; run again to resume")
        return None
    counts = result.mix.counts()
    extra = {
        "recipe_file": recipe_label,
        "recipe": recipe.to_dict(),
        "recipe_fingerprint": recipe.fingerprint,
        "layers_kept": result.layers,
        "data": {
            "pairs": len(result.mix.pairs),
            "languages": len({lang for per in counts.values() for lang in per}),
            "per_source": {source: sum(per.values()) for source, per in counts.items()},
            "per_source_language": counts,
            "packages": [asdict(pin) for pin in pins(recipe.data.sources)],
        },
        "training": {
            "steps": result.state.step,
            "train_seconds": round(result.state.train_seconds, 1),
            "history": result.state.history,
        },
    }
    init_dir = Path(recipe.student.init)
    return export_student(
        result.student,
        recipe.name,
        init_dir,
        out_dir,
        extra,
        result.layers,
        recipe.student.init_weight,
    )
