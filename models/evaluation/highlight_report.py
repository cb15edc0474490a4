"""The report's section on highlight accuracy (models/evaluation/highlight.py)."""

from __future__ import annotations

from typing import Any

from models.evaluation.highlight import GROUPS
from models.evaluation.markdown import percent, table
from models.evaluation.split import DEVELOPMENT, TEST

# Issue 17's goals: the top highlighted span inside the right paragraph, on the test split.
SEEN_GOAL = 0.90
UNSEEN_GOAL = 0.75
SERVED_METHOD = "late+terms"  # what hybrid search (the default mode) highlights with


def highlight_goals(report: dict[str, Any]) -> list[tuple[str, bool]]:
    summary = report["summary"][SERVED_METHOD]
    checks = []
    for split in (TEST, DEVELOPMENT):
        for group, goal in (("seen", SEEN_GOAL), ("unseen", UNSEEN_GOAL)):
            value = summary[split][group]
            if value is not None:
                checks.append(
                    (f"{split}, {group}: {SERVED_METHOD} ≥ {percent(goal)}", value >= goal)
                )
    return checks


def highlight_section(encoders: list[dict[str, Any]]) -> list[str]:
    reports = [(e["name"], e["tasks"]["highlight"]) for e in encoders if "highlight" in e["tasks"]]
    if not reports:
        return []
    per = reports[0][1]["paragraphs_per_passage"]
    lines = [
        "## Highlight accuracy",
        "",
        f"A passage of {per} consecutive UDHR article paragraphs of language X (joined by a "
        "space, within the model's window); each paragraph, in English, is a query. Accuracy: "
        "the share of queries whose top highlighted span lies inside their paragraph, macro "
        "over languages, in percent. Every step is the service's code (`app/highlights`: "
        "sentence splitting, sentence vectors stored int8, scoring). *late*: sentence vectors "
        "pooled from the passage's own encoding, through the model's highlight projection "
        "where it has one (what the service stores); *pooled*: the same without the "
        "projection (a report without this row predates it); *separate*: each "
        "sentence encoded alone (about twice the encoder work at indexing); *+terms*: plus "
        "the query's words, as lexical and hybrid searches score (hybrid is the default mode); "
        "*chance*: a sentence picked at random.",
        "",
    ]
    for name, report in reports:
        methods = report["methods"]  # reports written before a method existed lack its row
        header = [
            "method",
            *(f"{split} {group}" for split in (DEVELOPMENT, TEST) for group in GROUPS),
        ]
        rows = [
            [
                method,
                *(
                    percent(report["summary"][method][split][group])
                    for split in (DEVELOPMENT, TEST)
                    for group in GROUPS
                ),
            ]
            for method in methods
        ]
        lines += [
            f"### {name}",
            "",
            *table(header, rows),
        ]
        lines += [
            f"- {'met' if met else '**not met**'}: {goal}" for goal, met in highlight_goals(report)
        ]
        lines += ["", "Per language (queries, then each method):", ""]
        lines += table(
            ["language", "queries", *methods],
            [
                [code, str(report["queries"][code]), *(percent(scores[m]) for m in methods)]
                for code, scores in report["per_language"].items()
            ],
        )
    return lines
