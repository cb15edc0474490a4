"""PNG figures for the report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch


def plot_bitext_by_language(
    main: dict[str, Any], others: list[dict[str, Any]], path: Path, title: str
) -> Path:
    """Bars: the main encoder's per-language acc@1 (mean of both directions), sorted, coloured
    by seen/unseen in pre-training; dots: the other encoders on the same languages."""
    rows = sorted(main["per_language"], key=lambda r: r["mean"], reverse=True)
    codes = [r["code"] for r in rows]
    width = max(8.0, min(0.12 * len(rows) + 4, 60.0))
    figure, axes = plt.subplots(figsize=(width, 4.5))
    colours = ["tab:blue" if r["seen_in_pretraining"] else "tab:orange" for r in rows]
    axes.bar(range(len(rows)), [r["mean"] for r in rows], color=colours, width=0.85)
    markers = "ox^sdv"
    for i, other in enumerate(others):
        by_code = {r["code"]: r["mean"] for r in other["per_language"]}
        axes.plot(
            range(len(rows)),
            [by_code.get(c, float("nan")) for c in codes],
            markers[i % len(markers)],
            markersize=3,
            label=other["label"],
        )
    handles, _ = axes.get_legend_handles_labels()
    handles += [
        Patch(color="tab:blue", label=f"{main['label']}: seen in pre-training"),
        Patch(color="tab:orange", label=f"{main['label']}: unseen"),
    ]
    if len(rows) <= 80:
        axes.set_xticks(range(len(rows)), codes, rotation=90, fontsize=7)
    else:
        axes.set_xticks([])
        axes.set_xlabel(f"{len(rows)} languages, sorted by score")
    axes.set_ylabel("UDHR paragraph acc@1 (mean of xx→en, en→xx)")
    axes.set_ylim(0, 1.02)
    axes.set_xlim(-1, len(rows))
    axes.set_title(title)
    axes.legend(handles=handles, fontsize=7, loc="upper right")  # sorted bars leave it free
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_macro_bars(rows: list[tuple[str, float, float]], path: Path, title: str) -> Path:
    """Grouped bars of (label, seen macro, unseen macro)."""
    figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(rows) + 2), 4))
    positions = range(len(rows))
    axes.bar([p - 0.2 for p in positions], [r[1] for r in rows], 0.4, label="seen in pre-training")
    axes.bar([p + 0.2 for p in positions], [r[2] for r in rows], 0.4, label="unseen")
    axes.set_xticks(list(positions), [r[0] for r in rows], rotation=20, ha="right", fontsize=8)
    axes.set_ylabel("macro acc@1")
    axes.set_ylim(0, 1.0)
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
