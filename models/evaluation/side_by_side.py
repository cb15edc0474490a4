"""A student beside the packaged model: encode speeds measured side by side, the figures the
distillation goals compare, and the goal check itself. Used by `evaluate` (when the model under
evaluation is not the packaged one) and by the size study."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.encoder import OnnxEncoder, TextKind
from app.model_card import Variant
from models.evaluation.card import SERVED_PROTOCOL

SPEED_TEXTS = 256
SPEED_ROUNDS = 3
SPEED_GOAL = 2.0  # x the base model's int8 passages/s
SEEN_TOLERANCE = 0.01  # UDHR seen macro may trail the base model by 1 point


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


def row_figures(entry: dict[str, Any]) -> dict[str, float | None]:
    """The goals' quality figures from one encoder entry of an evaluation run."""
    tasks = entry["tasks"]
    figures: dict[str, float | None] = {}
    macro = _served(tasks["udhr-bitext"])["macro"] if "udhr-bitext" in tasks else {}
    for group in ("all", "seen", "unseen"):
        figures[f"udhr_{group}"] = macro[group]["mean"] if group in macro else None
    pool = _served(tasks["multilingual-pool"]) if "multilingual-pool" in tasks else None
    figures["pool_map"] = pool["map"] if pool else None
    bible = _served(tasks["bible-nt"]) if "bible-nt" in tasks else None
    figures["nt_acc1"] = bible["acc1"] if bible else None
    return figures


def goal_checks(base: dict[str, Any], student: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """The distillation issue's goals for the served student, each (goal, met, figures).
    Rows hold `row_figures` plus `encode_passages_per_s`."""
    ratio = student["encode_passages_per_s"] / base["encode_passages_per_s"]
    checks = [("encode >= 2x the base int8", ratio >= SPEED_GOAL, f"{ratio:.2f}x")]
    for goal, key, margin, strictly in (
        ("UDHR unseen >= base", "udhr_unseen", 0.0, False),
        ("UDHR seen within 1 point of base", "udhr_seen", SEEN_TOLERANCE, False),
        ("pool mAP > base", "pool_map", 0.0, True),
        ("Chichewa NT acc@1 > base", "nt_acc1", 0.0, True),
    ):
        ours, theirs = student[key], base[key]
        if ours is None or theirs is None:
            checks.append((goal, False, "not measured"))
            continue
        met = ours > theirs if strictly else ours >= theirs - margin
        checks.append((goal, met, f"{ours:.3f} vs {theirs:.3f}"))
    return checks


def goal_table(base: dict[str, Any], student: dict[str, Any]) -> list[str]:
    """`goal_checks` as Markdown table lines."""
    lines = ["| goal | met | figures |", "|---|---|---|"]
    lines += [
        f"| {goal} | {'yes' if met else 'no'} | {figures} |"
        for goal, met, figures in goal_checks(base, student)
    ]
    return lines
