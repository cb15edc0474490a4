"""The report's section on grouped search (models/evaluation/grouped.py)."""

from __future__ import annotations

from typing import Any

from models.evaluation.grouped import GROUPS, TOP
from models.evaluation.markdown import percent, table
from models.evaluation.split import DEVELOPMENT, TEST


def grouped_section(encoders: list[dict[str, Any]]) -> list[str]:
    reports = [(e["name"], e["tasks"]["grouped"]) for e in encoders if "grouped" in e["tasks"]]
    if not reports:
        return []
    lines = [
        "## Grouped search",
        "",
        "Each article of each evaluated language is a query against the articles of every other "
        'evaluated language, grouped by article number (as `group_by: "metadata.article"` '
        "groups the demo collection). acc@1: the top group is the query's article; MRR@"
        f"{TOP}: the reciprocal rank of that group within the first {TOP}; macro over query "
        "languages, in percent. *best*: a group ranks by its best passage, as the service "
        "ranks groups by default; *mean of best k*: by the mean of its k best passages, as "
        "the service does with `POLYSEARCH_GROUP_RANK_PASSAGES=k` (many agreeing translations "
        "against a single outlying passage).",
        "",
    ]
    for name, report in reports:
        header = [
            "method",
            *(
                f"{split} {group} {metric}"
                for split in (DEVELOPMENT, TEST)
                for group in GROUPS
                for metric in ("acc@1", f"MRR@{TOP}")
            ),
        ]
        rows = [
            [
                method,
                *(
                    percent((report["summary"][method][split][group] or {}).get(metric))
                    for split in (DEVELOPMENT, TEST)
                    for group in GROUPS
                    for metric in ("acc1", "mrr10")
                ),
            ]
            for method in report["methods"]
        ]
        lines += [
            f"### {name} ({report['queries']} queries, {report['groups']} groups)",
            "",
            *table(header, rows),
        ]
    return lines
