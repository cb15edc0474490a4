"""Multilingual pool: the aligned paragraphs of ~30 languages in one index. Each paragraph is
a query; its relevant items are the same paragraph in every other language of the pool.

A language-agnostic encoder ranks all translations first (mAP near 1) whatever their
language; a biased one pulls the query's own language (or English) up, which the bias
figures show: the share of the top 10 in the query's own language, and the distance in rank
between the best and the worst placed translation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.evaluation.encoders import EvalEncoder
from models.evaluation.metrics import (
    average_precisions,
    own_language_share,
    relevant_rank_spread,
)
from models.evaluation.protocols import Protocol
from models.evaluation.udhr_data import ENGLISH, AlignedText

POOL_SIZE = 30
TOP_K = 10


def pool_languages(codes: Sequence[str], size: int = POOL_SIZE) -> list[str]:
    """English plus the first `size - 1` evaluated languages."""
    return [ENGLISH, *[c for c in codes if c != ENGLISH][: size - 1]]


def pool_scores(
    encoder: EvalEncoder,
    texts: dict[str, AlignedText],
    languages: Sequence[str],
    protocol: Protocol,
) -> dict[str, Any]:
    shared = set.intersection(*(set(texts[c].unit_ids) for c in languages))
    units = [u for u in texts[ENGLISH].unit_ids if u in shared]
    queries, candidates, item_language, item_unit = [], [], [], []
    for code in languages:
        row_of = {u: i for i, u in enumerate(texts[code].unit_ids)}
        rows = [row_of[u] for u in units]
        paragraphs = texts[code].paragraphs
        query_vectors = encoder.encode(paragraphs, protocol.query_kind)
        candidate_vectors = encoder.encode(paragraphs, protocol.candidate_kind)
        queries.append(query_vectors[rows])
        candidates.append(candidate_vectors[rows])
        item_language += [code] * len(units)
        item_unit += units
    scores = np.vstack(queries) @ np.vstack(candidates).T
    np.fill_diagonal(scores, -np.inf)  # a query never retrieves itself
    languages_array = np.array(item_language)
    units_array = np.array(item_unit)
    relevant = (units_array[:, None] == units_array[None, :]) & (
        languages_array[:, None] != languages_array[None, :]
    )
    ap = average_precisions(scores, relevant)
    per_language = {code: float(ap[languages_array == code].mean()) for code in languages}
    return {
        "languages": list(languages),
        "paragraphs_per_language": len(units),
        "map": float(ap.mean()),
        "map_by_language": per_language,
        "own_language_share_top10": own_language_share(
            scores, languages_array, languages_array, TOP_K
        ),
        "own_language_share_top10_at_random": (len(units) - 1) / (len(item_unit) - 1),
        "english_share_top10": float(
            (languages_array[np.argsort(-scores, axis=1)[:, :TOP_K]] == ENGLISH)[
                languages_array != ENGLISH
            ].mean()
        ),
        "mean_rank_spread": relevant_rank_spread(scores, relevant),
    }
