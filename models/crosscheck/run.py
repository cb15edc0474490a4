"""Run the chosen tasks and gather the report that `crosscheck.json` holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.crosscheck.bible import committed_bible, compare_bible, new_testament, score_bible
from models.crosscheck.common import ENCODER_KEY, PROTOCOL, REPO_ROOT, TOLERANCE_POINTS
from models.crosscheck.encoder import TextEncoder
from models.crosscheck.pool import committed_pool, compare_pool, evaluate_pool
from models.crosscheck.udhr import committed_rows, compare, evaluate

TASKS = ("udhr", "pool", "bible-nt")  # run in this order: the pool re-uses the UDHR vectors


def command_line(tasks: Sequence[str], languages: int, verses: int | None) -> str:
    words = ["python -m models.crosscheck"]
    if list(tasks) != list(TASKS):
        words.append("--tasks " + " ".join(tasks))
    if "udhr" in tasks:
        words.append(f"--languages {languages}")
    if "bible-nt" in tasks and verses is not None:
        words.append(f"--verses {verses}")
    return " ".join(words)


def run_tasks(
    tasks: Sequence[str],
    codes: Sequence[str],
    languages: int,
    verses: int | None,
    encoder: TextEncoder,
    results: Path,
) -> dict[str, Any]:
    """Each chosen task's scores and comparison with `results`, in the order of TASKS."""
    report: dict[str, Any] = {}
    if "udhr" in tasks:
        scores = evaluate(codes[:languages], encoder=encoder)
        report["udhr"] = {
            "tie_rule": "a query is correct only when its own translation scores strictly highest",
            "ties": sum(score.ties for score in scores),
            "scores": [asdict(score) for score in scores],
            "comparison": compare(scores, committed_rows(results)),
        }
    if "pool" in tasks:
        pool = evaluate_pool(codes, encoder)
        report["pool"] = {
            "score": asdict(pool),
            "comparison": compare_pool(pool, committed_pool(results)),
        }
    if "bible-nt" in tasks:
        alignment = new_testament()
        if verses is not None and verses < len(alignment.references):
            alignment = alignment.head(verses)
        else:
            verses = None
        bible = score_bible(alignment, encoder)
        report["bible-nt"] = {
            "verses_limit": verses,
            "skipped_chapters": alignment.skipped_chapters,
            "score": asdict(bible),
            "comparison": compare_bible(bible, committed_bible(results)),
        }
    return report


def build_report(
    command: str, results: Path, tasks: dict[str, Any], texts_encoded: int
) -> dict[str, Any]:
    """What `crosscheck.json` holds: the run's settings, then each task's scores and comparison."""
    import torch
    import transformers

    try:
        results_name = str(results.resolve().relative_to(REPO_ROOT))
    except ValueError:
        results_name = str(results)
    return {
        "command": command,
        "results": results_name,
        "encoder_key": ENCODER_KEY,
        "protocol": PROTOCOL,
        "runtime": {"torch": torch.__version__, "transformers": transformers.__version__},
        "tolerance_points": TOLERANCE_POINTS,
        "texts_encoded": texts_encoded,
        "tasks": tasks,
    }
