"""Retrieval metrics over similarity matrices: rows are queries, columns candidates."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolMatrix = npt.NDArray[np.bool_]


def ranks_of_targets(scores: Matrix, targets: IntArray) -> IntArray:
    """1-based rank of each query's one relevant column; ties count against the target."""
    target_scores = scores[np.arange(len(targets)), targets]
    better_or_tied = (scores >= target_scores[:, None]).sum(axis=1)
    ranks: IntArray = better_or_tied.astype(np.int64)
    return ranks


def accuracy_at_1(scores: Matrix, targets: IntArray) -> float:
    """Share of queries whose relevant column scores strictly highest."""
    return float((ranks_of_targets(scores, targets) == 1).mean())


def mrr_at_k(scores: Matrix, targets: IntArray, k: int = 10) -> float:
    """Mean reciprocal rank of the relevant column, 0 when it ranks below k."""
    ranks = ranks_of_targets(scores, targets)
    return float(np.where(ranks <= k, 1.0 / ranks, 0.0).mean())


def average_precisions(scores: Matrix, relevant: BoolMatrix) -> npt.NDArray[np.float64]:
    """Average precision per query over the full ranking; queries without relevant items get 0."""
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = np.take_along_axis(relevant, order, axis=1)
    cumulative = np.cumsum(hits, axis=1)
    positions = np.arange(1, scores.shape[1] + 1)
    precision_at_hits = np.where(hits, cumulative / positions, 0.0)
    totals = np.maximum(relevant.sum(axis=1), 1)
    result: npt.NDArray[np.float64] = precision_at_hits.sum(axis=1) / totals
    return result


def mean_average_precision(scores: Matrix, relevant: BoolMatrix) -> float:
    return float(average_precisions(scores, relevant).mean())


def own_language_share(
    scores: Matrix,
    candidate_languages: npt.NDArray[np.str_],
    query_languages: npt.NDArray[np.str_],
    k: int = 10,
) -> float:
    """Mean share of each query's top-k candidates that are in the query's own language."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    same = candidate_languages[top] == query_languages[:, None]
    return float(same.mean())


def relevant_rank_spread(scores: Matrix, relevant: BoolMatrix) -> float:
    """Mean over queries of (worst relevant rank - best relevant rank): 0 when all the
    relevant items (the translations) sit together, large when the ranking favours some
    languages over others."""
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = np.take_along_axis(relevant, order, axis=1)
    spreads = []
    for row in hits:
        positions = np.flatnonzero(row)
        if len(positions):
            spreads.append(float(positions[-1] - positions[0]))
    return float(np.mean(spreads)) if spreads else 0.0
