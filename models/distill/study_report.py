"""The size study's Markdown table, goal check and quality-vs-speed plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.figure
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from models.evaluation.markdown import percent
from models.evaluation.report import generated_header
from models.evaluation.side_by_side import SPEED_GOAL, goal_table

PLOT = "quality_vs_speed.png"
BUDGET_PLOT = "quality_vs_budget.png"


def _steps(row: dict[str, Any]) -> str:
    """Training steps x batch; `—` for the base model (no recipe)."""
    if "steps" not in row:
        return "—"
    return f"{row['steps']} x {row['batch_size']}" if row["steps"] else "0 (untrained)"


def _map(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    """Speed against the base; `n/a` for rows of results.json older than the measurement."""
    return "n/a" if not ours or not theirs else f"{ours / theirs:.2f}"


def _measured_on(results: dict[str, Any]) -> str:
    """What the quality columns cover: the development split, or (results.json from before
    the split) the tasks as they then ran."""
    if results.get("split") == "development":
        return (
            f"Quality on the development split ({results['languages']} UDHR languages, the "
            "named low-resource ones, and the English questions over them; "
            "`models/evaluation/split.py`), where students are chosen: the goals are judged on "
            "the test split by `make eval`. *NT acc@1* is in-domain (the Chichewa New "
            "Testament comes from the same two Bibles as the Old Testament training pairs)."
        )
    return (
        f"Quality on the held-out tasks as run before the development/test split "
        f"({results['languages']} UDHR languages; the pool of English plus those languages; "
        "every Chichewa New Testament verse, an in-domain figure: the same two Bibles as the "
        "Old Testament training pairs)."
    )


def _teacher(row: dict[str, Any]) -> str:
    if "teacher" not in row:
        return "—"
    hybrid = f", hybrid {row['contrastive_weight']:g}" if row["contrastive_weight"] else ""
    bf16 = ", bf16" if row.get("bf16") else ""  # rows of results.json older than the switch
    return f"{row['teacher']}{hybrid}{bf16}"


def study_table(rows: list[dict[str, Any]]) -> list[str]:
    base_speed = rows[0]["encode_passages_per_s"]
    lines = [
        "| model | layers | teacher | steps x batch | pairs / languages | train min "
        "| passages/s | x base | x base, queries | UDHR all | seen | unseen | pool mAP "
        "| questions acc@1 | NT acc@1 (in-domain) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    base_queries = rows[0].get("encode_queries_per_s")
    for row in rows:
        steps = _steps(row)
        data = f"{row['pairs']:,} / {row['languages']}" if "pairs" in row else "—"
        minutes = f"{row['train_minutes']:.1f}" if "train_minutes" in row else "—"
        lines.append(
            f"| {row['name']} | {row['layers']} | {_teacher(row)} | {steps} | {data} | {minutes} "
            f"| {row['encode_passages_per_s']:.1f} "
            f"| {row['encode_passages_per_s'] / base_speed:.2f} "
            f"| {_ratio(row.get('encode_queries_per_s'), base_queries)} "
            f"| {percent(row['udhr_all'])} | {percent(row['udhr_seen'])} "
            f"| {percent(row['udhr_unseen'])} "
            f"| {_map(row['pool_map'])} | {percent(row.get('questions_macro_acc1'))} "
            f"| {percent(row['nt_acc1'])} |"
        )
    return lines


def _save_with_key(
    figure: matplotlib.figure.Figure, numbered: list[tuple[int, dict[str, Any]]], path: Path
) -> Path:
    """Writes the figure with the key of its numbered points beside the axes."""
    key = "\n".join(f"{number:>2}  {row['name']}" for number, row in numbered)
    figure.text(0.70, 0.5, key, fontsize=7, family="monospace", va="center")
    figure.tight_layout(rect=(0, 0, 0.69, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_quality_vs_speed(rows: list[dict[str, Any]], path: Path) -> Path:
    """Seen and unseen UDHR accuracy against speed. Points carry the row's number (students
    crowd around 2x, where names overlap); the key beside the axes names them."""
    figure, axes = plt.subplots(figsize=(9, 4.8))
    for key, marker, label in (
        ("udhr_seen", "o", "UDHR seen"),
        ("udhr_unseen", "s", "UDHR unseen"),
    ):
        points = [
            (r["encode_passages_per_s"], r[key], number)
            for number, r in enumerate(rows, start=1)
            if r[key]
        ]
        axes.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, label=label)
        for x, y, number in points:
            axes.annotate(
                str(number), (x, y), fontsize=6, xytext=(3, 2), textcoords="offset points"
            )
    goal = SPEED_GOAL * rows[0]["encode_passages_per_s"]
    axes.axvline(goal, linestyle="--", color="grey", linewidth=1, label="2x the base's speed")
    axes.set_xlabel("encode passages/s (int8 ONNX, this machine)")
    axes.set_ylabel("UDHR paragraph acc@1 (macro)")
    axes.set_ylim(0, 1.0)
    axes.legend(fontsize=8, loc="upper right")
    axes.set_title("Students vs the packaged multilingual-e5-small")
    return _save_with_key(figure, list(enumerate(rows, start=1)), path)


def _budget(row: dict[str, Any]) -> int:
    """Pairs the student was trained on, counting repeats: steps x batch (0 when untrained)."""
    return int(row.get("steps", 0)) * int(row.get("batch_size", 0))


def plot_quality_vs_budget(rows: list[dict[str, Any]], path: Path) -> Path:
    """UDHR accuracy (all 22 languages) against the training budget, coloured by layer count,
    the base model as a horizontal line. Rows differ in more than budget (data, objective,
    teacher): the table says how; the numbers are its rows."""
    figure, axes = plt.subplots(figsize=(9, 4.8))
    trained = [
        (number, r) for number, r in enumerate(rows, start=1) if _budget(r) and r["udhr_all"]
    ]
    for layers in sorted({r["layers"] for _, r in trained}):
        points = [
            (_budget(r), r["udhr_all"], number) for number, r in trained if r["layers"] == layers
        ]
        axes.scatter([p[0] for p in points], [p[1] for p in points], label=f"{layers} layers")
        for x, y, number in points:
            axes.annotate(
                str(number), (x, y), fontsize=6, xytext=(3, 2), textcoords="offset points"
            )
    axes.axhline(
        rows[0]["udhr_all"], linestyle="--", color="grey", linewidth=1, label=rows[0]["name"]
    )
    axes.set_xscale("log")
    # Labels at 1, 2 and 5 of each decade: every minor tick labelled crowds a span under a decade.
    axes.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xlabel("training budget: steps x batch (pairs seen, log scale)")
    axes.set_ylabel("UDHR paragraph acc@1 (macro, all)")
    axes.set_ylim(0, 1.0)
    axes.legend(fontsize=8, loc="upper right")
    axes.set_title("Student quality against training budget")
    return _save_with_key(figure, trained, path)


def write_study_report(
    results: dict[str, Any], out_dir: Path, candidates: Sequence[str] = ()
) -> Path:
    rows = results["rows"]
    plot_quality_vs_speed(rows, out_dir / PLOT)
    plot_quality_vs_budget(rows, out_dir / BUDGET_PLOT)
    lines = [
        *generated_header("Distillation size study", results["command"]),
        f"{_measured_on(results)} Served protocol "
        f"(`query: ` / `passage: `), {results['variant']} ONNX. Speed: passages/s on the "
        f"same 256 UDHR paragraphs, the models taking turns, best of 3 rounds, on this "
        f"machine ({results['cpus']} CPUs, load {results['load_average_at_start']} at the "
        "start); *x base, queries*: the same on the English questions as short queries. "
        "Each student row is reproduced by its command; *train min* is the training "
        "loop alone (the data mix, the cached teacher pass and the export come on top).",
        "",
        *study_table(rows),
        "",
        f"![quality vs speed]({PLOT})",
        "",
        "Quality against training budget (steps x batch; the numbers are the table's rows; "
        "untrained rows left out):",
        "",
        f"![quality vs training budget]({BUDGET_PLOT})",
        "",
        "Commands:",
        "",
        *[f"- {row['name']}: `{row['command']}`" for row in rows],
    ]
    by_name = {row["name"]: row for row in rows}
    for candidate in (name for name in candidates if name in by_name):
        lines += ["", f"## Goals for {candidate}", ""]
        lines += [
            "On this study's figures (above); the goals themselves are judged on the test "
            "split, in the report of `make eval`. *Not measured*: a figure this study does "
            "not take.",
            "",
        ]
        lines += goal_table(rows[0], by_name[candidate])
    path = out_dir / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
