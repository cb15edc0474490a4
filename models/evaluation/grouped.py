"""Grouped search: is the best group the right article, across every evaluated language?

Each article of each evaluated language (held-out UDHR) is a query (`query: `) against the
articles of every other evaluated language (`passage: `), grouped by article number as
`/v1/search` with `group_by: "metadata.article"` groups the demo collection. The query scores
at 1 when the top group is its own article (acc@1), and by the reciprocal rank of that group
within the first ten (MRR@10); macro over the query languages, by split and by whether XLM-R
saw the language.

`best` ranks a group by its best passage, as the service does. `mean of best k` ranks it by
the mean of its k best passages instead: a group found by many translations then outranks one
found by a single passage. Such single passages are often in scripts the model cannot read,
whose vectors sit near every query (hubs): the demo's grouped view showed them (Sanskrit in
Grantha, Tibetan, Inuktitut syllabics as the "best" passages of four unrelated articles out
of ten). `POLYSEARCH_GROUP_RANK_PASSAGES=k` has the service rank groups so (by default: best).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer.udhr import UdhrDeclaration
from models.evaluation.encoders import EvalEncoder
from models.evaluation.split import DEVELOPMENT, TEST, split_of
from models.evaluation.udhr_data import article_texts

BEST_K = (1, 2, 3, 5, 10)  # 1: the service's ranking (its best passage)
TOP = 10  # MRR counts the first ten groups, as many as the demo page shows
GROUPS = ("all", "seen", "unseen")
Matrix = npt.NDArray[np.float64]


def method_name(k: int) -> str:
    return "best" if k == 1 else f"mean of best {k}"


def best_passages(
    scores: npt.NDArray[np.floating[Any]], groups: npt.NDArray[np.int64], most: int
) -> Matrix:
    """[queries, groups, most]: each group's `most` best passage scores for each query, best
    first, -inf where it has fewer. `groups` holds each passage's group as 0..n-1."""
    out = np.full((len(scores), int(groups.max()) + 1, most), -np.inf)
    for group in range(out.shape[1]):
        best = -np.sort(-scores[:, groups == group], axis=1)[:, :most]
        out[:, group, : best.shape[1]] = best
    return out


def group_means(best: Matrix, k: int) -> Matrix:
    """[queries, groups]: the mean of each group's `k` best passages (from `best_passages`),
    -inf ones (the query's own language) left out; fewer than `k` left: their mean; none:
    -inf."""
    top = best[:, :, :k]
    finite = np.isfinite(top)
    counted = finite.sum(axis=2)
    summed = np.where(finite, top, 0.0).sum(axis=2)
    means: Matrix = np.where(counted > 0, summed / np.maximum(counted, 1), -np.inf)
    return means


def group_scores(
    scores: npt.NDArray[np.floating[Any]], groups: npt.NDArray[np.int64], k: int
) -> Matrix:
    """[queries, groups]: each group's score for each query, the mean of its `k` best passages
    (`group_means`). `groups` holds each passage's group as 0..n-1."""
    return group_means(best_passages(scores, groups, k), k)


def grouped_report(
    encoder: EvalEncoder,
    declarations: Mapping[str, UdhrDeclaration],
    seen: Mapping[str, bool],
    codes: Sequence[str],
) -> dict[str, Any]:
    """acc@1 and MRR@10 of the right article group, per method and query language."""
    numbers: list[int] = []
    languages: list[str] = []
    texts: list[str] = []
    for code in codes:
        found, articles = article_texts(declarations[code])
        numbers += found
        languages += [code] * len(found)
        texts += articles
    article_of = np.asarray(numbers, dtype=np.int64)
    language_of = np.asarray(languages)
    kinds = np.unique(article_of)
    group_of = np.searchsorted(kinds, article_of)
    scores = encoder.encode(texts, "query") @ encoder.encode(texts, "passage").T  # float32
    scores[language_of[:, None] == language_of[None, :]] = -np.inf  # other languages only
    per_language: dict[str, dict[str, dict[str, float]]] = {code: {} for code in codes}
    best = best_passages(scores, group_of, max(BEST_K))  # sorted once, for every k
    for k in BEST_K:
        ranked = group_means(best, k)
        own = ranked[np.arange(len(ranked)), group_of]
        rank = (ranked >= own[:, None]).sum(axis=1)  # ties count against the right group
        reciprocal = np.where(rank <= TOP, 1.0 / rank, 0.0)
        for code in codes:
            rows = language_of == code
            per_language[code][method_name(k)] = {
                "acc1": round(float((rank[rows] == 1).mean()), 4),
                "mrr10": round(float(reciprocal[rows].mean()), 4),
            }
    summary: dict[str, Any] = {}
    for k in BEST_K:
        method = method_name(k)
        summary[method] = {}
        for split in (DEVELOPMENT, TEST):
            summary[method][split] = {}
            for group in GROUPS:
                chosen = [
                    per_language[c][method]
                    for c in codes
                    if split_of(c) == split and (group == "all" or seen[c] == (group == "seen"))
                ]
                summary[method][split][group] = {
                    metric: round(float(np.mean([v[metric] for v in chosen])), 4)
                    if chosen
                    else None
                    for metric in ("acc1", "mrr10")
                }
    return {
        "methods": [method_name(k) for k in BEST_K],
        "queries": len(texts),
        "groups": len(kinds),
        "summary": summary,
        "per_language": per_language,
    }
