"""The grouped-search task: group scores by hand, then the real model on three languages."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.udhr import UdhrDeclaration
from models.evaluation.encoders import OnnxModelEncoder
from models.evaluation.grouped import group_scores, grouped_report, method_name
from models.evaluation.grouped_report import grouped_section
from models.evaluation.split import DEVELOPMENT, TEST


def test_a_group_found_by_many_passages_outranks_one_found_by_a_single_outlier() -> None:
    inf = -np.inf
    # one query; passages of group 0 (one outlier at 0.9) and group 1 (three at 0.8); group 2's
    # only passage is the query's own language (-inf), so it has no score at all
    scores = np.array([[0.9, 0.1, 0.1, 0.8, 0.8, 0.8, inf]])
    groups = np.array([0, 0, 0, 1, 1, 1, 2])
    best = group_scores(scores, groups, 1)[0]
    assert best[0] > best[1] and best[2] == inf
    mean3 = group_scores(scores, groups, 3)[0]
    np.testing.assert_allclose(mean3[:2], [(0.9 + 0.1 + 0.1) / 3, 0.8])
    assert mean3[2] == inf
    # fewer finite passages than k: the mean of those there are
    np.testing.assert_allclose(group_scores(np.array([[0.5, inf]]), np.array([0, 0]), 5), [[0.5]])


def test_the_model_groups_articles_across_languages(
    model_dir: Path, declarations: dict[str, UdhrDeclaration]
) -> None:
    codes = ["swh", "fra", "spa"]  # English is the evaluation's pivot: in neither split
    seen = dict.fromkeys(codes, True)
    report = grouped_report(OnnxModelEncoder(model_dir, "int8"), declarations, seen, codes)
    assert report["methods"][0] == method_name(1) == "best"
    assert report["groups"] == 30 and report["queries"] == 90
    for code in codes:
        figures = report["per_language"][code]["best"]
        assert figures["acc1"] > 0.8 and figures["acc1"] <= figures["mrr10"] <= 1
    development = report["summary"]["best"][DEVELOPMENT]["seen"]  # swh: development split
    assert development["acc1"] == report["per_language"]["swh"]["best"]["acc1"]
    assert report["summary"]["best"][TEST]["unseen"] == {"acc1": None, "mrr10": None}
    section = "\n".join(grouped_section([{"name": "m", "tasks": {"grouped": report}}]))
    assert "## Grouped search" in section and "| mean of best 5 |" in section
