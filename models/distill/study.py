"""`python -m models study --recipes FILE...`: the teacher/student size study.

Each recipe's student is trained (or reused when the exported card carries the same recipe
fingerprint), then every student and the packaged multilingual-e5-small are evaluated on the
development split (`models/evaluation/split.py`: recipes are chosen there, never on the test
split) in one run, and their encode speeds are measured side by side (the same
texts, the models taking turns, best of several rounds, so a busy moment hits all alike).
Writes `README.md`, `results.json` and `quality_vs_speed.png` under `--out`.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model_card import ModelCard, Variant
from models.build import attach_published_evaluation
from models.distill.pipeline import DEFAULT_OUT, run_recipe
from models.distill.recipe import Recipe
from models.evaluation.arguments import DEFAULT_EMBEDDING_CACHE
from models.evaluation.card import card_evaluation, write_card_evaluation
from models.evaluation.side_by_side import encode_speeds, row_figures
from models.evaluation.split import DEVELOPMENT, DEVELOPMENT_TASKS, IN_DOMAIN_TASKS
from models.evaluation.suite import (
    BASELINE_MODEL,
    RunConfig,
    run_suite,
    short_queries,
    speed_sample,
)

# Students are chosen here: the development split's tasks, and the in-domain NT figure.
STUDY_TASKS = (*DEVELOPMENT_TASKS, *IN_DOMAIN_TASKS)


@dataclass(frozen=True)
class StudyRow:
    """One model of the study: a recipe's student, or the packaged base model (no recipe)."""

    name: str
    model_dir: Path
    recipe_file: Path | None = None


def _teacher_name(recipe: dict[str, Any]) -> str:
    teacher = recipe["teacher"]
    if not recipe["train"]["steps"]:
        return "none (untrained)"
    if teacher["kind"] == "e5":
        return Path(teacher["path"]).parent.name
    name = teacher["package"] or Path(teacher["member"]).stem  # split teachers: no package
    return f"{name} ({teacher['projection']})" if teacher.get("projection") else name


def _training(card: ModelCard) -> dict[str, Any]:
    recipe = card.extra.get("recipe")
    if recipe is None:
        return {}
    training = card.extra.get("training", {})
    return {
        "teacher": _teacher_name(recipe),
        "steps": recipe["train"]["steps"],
        "batch_size": recipe["train"]["batch_size"],
        "contrastive_weight": recipe["train"]["contrastive_weight"],
        "bf16": recipe["train"].get("bf16", False),
        "pairs": card.extra["data"]["pairs"],
        "languages": card.extra["data"]["languages"],
        "train_minutes": round(training.get("train_seconds", 0.0) / 60, 1),
    }


def study_rows(
    recipe_files: Sequence[Path], models_dir: Path = DEFAULT_OUT, log: Callable[[str], None] = print
) -> list[StudyRow]:
    """The base model, then each recipe's student (trained now where no export exists)."""
    rows = [StudyRow(BASELINE_MODEL, models_dir / BASELINE_MODEL)]
    for recipe_file in recipe_files:
        log(f"student {recipe_file}")
        student = run_recipe(recipe_file, models_dir)
        assert student is not None  # no stop_after: a run ends at its last step
        rows.append(StudyRow(Recipe.load(recipe_file).name, student, recipe_file))
    return rows


def run_study(
    rows: Sequence[StudyRow],
    languages: int | None,
    tasks: Sequence[str] = STUDY_TASKS,
    variant: Variant = "int8",
    cache_dir: Path = DEFAULT_EMBEDDING_CACHE,
    log: Callable[[str], None] = print,
    command: str = "",
) -> dict[str, Any]:
    """Every row on the same tasks (served protocol), then their speeds side by side. Each
    student's card gets its per-language figures, unless the committed evaluation of all
    languages measured it (the base model's card keeps its own too)."""
    load_at_start = round(os.getloadavg()[0], 1)
    entries: list[dict[str, Any]] = []
    for row in rows:
        log(f"evaluating {row.name} ({variant})")
        config = RunConfig(
            model=str(row.model_dir),
            tasks=tasks,
            variants=(variant,),
            languages=languages,
            cache_dir=cache_dir,
            command=command,
            served_protocol_only=True,
        )
        results = run_suite(config, log=log)
        entries.append(results["encoders"][0])
        evaluated = card_evaluation(results)
        published = row.recipe_file is None or attach_published_evaluation(row.model_dir)
        if evaluated is not None and not published:
            write_card_evaluation(row.model_dir, *evaluated)
    log("encode speed, side by side")
    models = {row.name: row.model_dir for row in rows}
    speeds = encode_speeds(models, variant, speed_sample(languages))
    query_speeds = encode_speeds(models, variant, short_queries(), kind="query")
    table = []
    for row, entry in zip(rows, entries, strict=True):
        card = ModelCard.load(row.model_dir)
        table.append(
            {
                "name": row.name,
                "recipe_file": str(row.recipe_file) if row.recipe_file else None,
                "command": (
                    f"python -m models distill --recipe {row.recipe_file}"
                    if row.recipe_file
                    else "python -m models build"
                ),
                "layers": card.extra.get("config", {}).get("num_hidden_layers", 12),
                **_training(card),
                "encode_passages_per_s": speeds[row.name],
                "encode_queries_per_s": query_speeds[row.name],
                **row_figures(entry, DEVELOPMENT),
            }
        )
    return {
        "variant": variant,
        "split": DEVELOPMENT,
        "languages": languages or "all",
        "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "rows": table,
    }


def write_results(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(
    recipe_files: Sequence[Path], languages: str, out_dir: Path, candidates: Sequence[str]
) -> None:
    from models.distill.study_report import write_study_report

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    rows = study_rows(recipe_files, log=log)
    command = "python -m models study " + shlex.join(sys.argv[2:])
    languages_wanted = None if languages == "all" else int(languages)
    results = {"command": command, **run_study(rows, languages_wanted, log=log, command=command)}
    write_results(results, out_dir)
    print(f"wrote {write_study_report(results, out_dir, candidates)}")


def rerender(out_dir: Path, candidates: Sequence[str]) -> None:
    """Writes the report again from `out_dir/results.json`, as recorded: the figures stay those
    of the run its header names."""
    from models.distill.study_report import write_study_report

    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    print(f"wrote {write_study_report(results, out_dir, candidates)}")
