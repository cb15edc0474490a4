"""A student beside the packaged model: encode speeds measured side by side, the figures the
distillation goals compare, and the goal check itself. Used by `evaluate` (when the model under
evaluation is not the packaged one) and by the size study."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.encoder import OnnxEncoder, TextKind
from app.model_card import Variant
from models.evaluation.card import SERVED_PROTOCOL
from models.evaluation.split import TEST, Split, split_of
from models.evaluation.udhr_data import ENGLISH

SPEED_TEXTS = 256
SPEED_ROUNDS = 3
SPEED_GOAL = 2.0  # x the base model's int8 texts/s, on passages and on short queries


def encode_speeds(
    model_dirs: Mapping[str, Path],
    variant: Variant,
    texts: Sequence[str],
    rounds: int = SPEED_ROUNDS,
    kind: TextKind = "passage",
) -> dict[str, float]:
    """Texts/s of each model on the same texts (`kind`: their e5 prefix): the models take
    turns, each keeps its best round, so that a busy moment of the machine hits all of them
    alike."""
    encoders = {name: OnnxEncoder(model_dir, variant) for name, model_dir in model_dirs.items()}
    for encoder in encoders.values():
        encoder.encode(list(texts[:8]), kind)  # warm-up
    best = dict.fromkeys(encoders, 0.0)
    for _ in range(rounds):
        for name, encoder in encoders.items():
            started = time.perf_counter()
            encoder.encode(list(texts), kind)
            best[name] = max(best[name], len(texts) / (time.perf_counter() - started))
    return {name: round(speed, 1) for name, speed in best.items()}


def _served(task: dict[str, Any]) -> dict[str, Any]:
    """The served protocol's figures (encoders without prefixes have one protocol)."""
    figures: dict[str, Any] = task.get(SERVED_PROTOCOL) or next(iter(task.values()))
    return figures


def _in_split(codes: Sequence[str], split: Split) -> bool:
    """Whether a task's languages (English aside) all belong to `split`: a pool or a
    code-switched run over other languages (results older than the split) does not count."""
    others = [c for c in codes if c != ENGLISH]
    return bool(others) and all(split_of(c) == split for c in others)


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def row_figures(entry: dict[str, Any], split: Split = TEST) -> dict[str, Any]:
    """The goals' figures of one encoder entry of an evaluation run, on one split (None where
    the run did not measure them there), and the in-domain Chichewa New Testament figure."""
    tasks = entry["tasks"]
    bitext = _served(tasks["udhr-bitext"])["per_language"] if "udhr-bitext" in tasks else []
    rows = [r for r in bitext if split_of(r["code"]) == split]
    figures: dict[str, Any] = {
        "udhr_all": _mean([r["mean"] for r in rows]),
        "udhr_seen": _mean([r["mean"] for r in rows if r["seen_in_pretraining"]]),
        "udhr_unseen": _mean([r["mean"] for r in rows if not r["seen_in_pretraining"]]),
    }
    pool = _served(tasks["multilingual-pool"]) if "multilingual-pool" in tasks else None
    pool_counts = pool is not None and _in_split(pool["languages"], split)
    figures["pool_map"] = pool["map"] if pool and pool_counts else None
    figures["pool_english_share_top10"] = (
        pool["english_share_top10"] if pool and pool_counts else None
    )
    switched = _served(tasks["code-switched"]) if "code-switched" in tasks else None
    figures["codeswitch_acc1"] = (
        switched["acc1_third_language"]
        if switched and _in_split(switched["source_languages"], split)
        else None
    )
    questions = _served(tasks["questions"])["per_language"] if "questions" in tasks else {}
    by_language = {
        code: v["acc1"]
        for code, v in questions.items()
        if code != ENGLISH and split_of(code) == split
    }
    figures["questions_acc1_by_language"] = by_language or None
    figures["questions_macro_acc1"] = _mean(list(by_language.values()))
    bible = _served(tasks["bible-nt"]) if "bible-nt" in tasks else None
    figures["nt_acc1"] = bible["acc1"] if bible else None  # in-domain: never a goal
    return figures


GoalCheck = tuple[str, bool | None, str]  # goal, met (None: not measured), figures


def _speed_check(goal: str, ours: float | None, theirs: float | None) -> GoalCheck:
    if not ours or not theirs:
        return goal, None, "not measured"
    ratio = ours / theirs
    return goal, ratio >= SPEED_GOAL, f"{ratio:.2f}x ({ours:.1f} vs {theirs:.1f})"


def _questions_check(base: dict[str, Any], student: dict[str, Any]) -> GoalCheck:
    """Per language: met when the student is at least the base in every test-split language
    both were measured on; the figures say in how many, and give the macro averages."""
    goal = "English questions acc@1 >= base in every language"
    ours, theirs = student.get("questions_acc1_by_language"), base.get("questions_acc1_by_language")
    shared = sorted(set(ours or {}) & set(theirs or {}))
    if not ours or not theirs or not shared:
        return goal, None, "not measured"
    at_least = [c for c in shared if ours[c] >= theirs[c]]
    macro_ours = float(np.mean([ours[c] for c in shared]))
    macro_theirs = float(np.mean([theirs[c] for c in shared]))
    figures = (
        f"{len(at_least)} of {len(shared)} languages; macro {macro_ours:.3f} vs {macro_theirs:.3f}"
    )
    return goal, len(at_least) == len(shared), figures


# (goal, figure, higher is better): the quality goals, each against the base.
QUALITY_GOALS: tuple[tuple[str, str, bool], ...] = (
    ("UDHR acc@1, all languages >= base", "udhr_all", True),
    ("UDHR acc@1, seen languages >= base", "udhr_seen", True),
    ("UDHR acc@1, unseen languages >= base", "udhr_unseen", True),
    ("pool mAP >= base", "pool_map", True),
    ("pool: English in a foreign query's top 10 <= base", "pool_english_share_top10", False),
    ("code-switched acc@1 >= base", "codeswitch_acc1", True),
)


def goal_checks(base: dict[str, Any], student: dict[str, Any]) -> list[GoalCheck]:
    """The distillation issue's goals for the served student, each (goal, met, figures); met
    is None where either row lacks the figure. Rows hold `row_figures` plus
    `encode_passages_per_s` and `encode_queries_per_s` (short queries)."""
    checks = [
        _speed_check(
            "speed: UDHR paragraphs >= 2x the base int8",
            student.get("encode_passages_per_s"),
            base.get("encode_passages_per_s"),
        ),
        _speed_check(
            "speed: short queries >= 2x the base int8",
            student.get("encode_queries_per_s"),
            base.get("encode_queries_per_s"),
        ),
    ]
    for goal, key, higher_is_better in QUALITY_GOALS:
        ours, theirs = student.get(key), base.get(key)
        if ours is None or theirs is None:
            checks.append((goal, None, "not measured"))
            continue
        met = ours >= theirs if higher_is_better else ours <= theirs
        checks.append((goal, met, f"{ours:.3f} vs {theirs:.3f}"))
    return [*checks, _questions_check(base, student)]


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else "yes" if met else "no"


def goal_table(base: dict[str, Any], student: dict[str, Any]) -> list[str]:
    """`goal_checks` as Markdown table lines (figures: the student's, then the base's)."""
    lines = ["| goal | met | student vs base |", "|---|---|---|"]
    lines += [
        f"| {goal} | {_verdict(met)} | {figures} |"
        for goal, met, figures in goal_checks(base, student)
    ]
    return lines
