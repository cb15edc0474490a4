"""Hybrid ranking: the dense ranking, moved only where the query's words are found.

Rank fusion (RRF) gives every passage in either list a share of the score by its rank, so a
passage that shares nothing with a query still gains from being, say, tenth of the lexical
list, and cross-lingual search (where the query's words rarely occur in the passage) suffers.
Here the dense cosine similarity is the score, and lexical evidence adds to it in proportion:
`cosine + weight * bm25 / query_terms`, the BM25 score per query term (how much of the query,
weighed by rarity, the passage holds). A passage sharing no term with the query keeps its
cosine, so a query sharing no term with any passage gets exactly the dense ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.settings import Settings

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HybridConfig:
    """The fusion's settings (`Settings.hybrid_*`)."""

    weight: float
    dense_candidates: int
    lexical_candidates: int
    baseline_rank: int = 0  # see `lexical_baseline`; 0: none

    @classmethod
    def from_settings(cls, settings: Settings) -> HybridConfig:
        return cls(
            settings.hybrid_lexical_weight,
            settings.hybrid_dense_candidates,
            settings.hybrid_lexical_candidates,
            settings.hybrid_lexical_baseline_rank,
        )


def lexical_baseline(lexical: Scores, rank: int) -> float:
    """The BM25 score of the `rank`-th best lexical match (0.0 when fewer match, or rank 0).

    Only evidence above it counts: in a collection of many languages every passage in the
    query's own language shares its common words ("kila mtu ana haki" in Swahili), which
    are rare in the collection as a whole; subtracting what the crowd of matches has keeps
    them from pulling every same-language passage above the translations of the answer."""
    matched = np.sort(lexical[lexical > 0])[::-1]
    return float(matched[rank - 1]) if 0 < rank <= len(matched) else 0.0


@dataclass(frozen=True)
class Fused:
    id: str
    score: float  # the hybrid score
    dense: float  # cosine similarity
    lexical: float  # BM25 score, 0.0 when no term is shared


def hybrid_scores(
    dense: Scores, lexical: Scores, query_terms: int, weight: float, baseline: float = 0.0
) -> Scores:
    """The hybrid score of each candidate from its cosine and BM25 scores (0 where the
    candidate shares no term with the query), counting BM25 above `baseline` only."""
    if query_terms < 1:
        return dense.astype(np.float64)
    return dense + weight * np.maximum(lexical - baseline, 0.0) / query_terms


def fuse(
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    query_terms: int,
    weight: float,
    limit: int,
    baseline_rank: int = 0,
) -> list[Fused]:
    """The best `limit` candidates, best first. Every candidate needs its cosine in `dense`
    (lexical ones included: the caller scores them); `lexical` holds the candidates that share
    terms with the query. Ties keep the dense order."""
    ids = sorted(dense, key=lambda point_id: -dense[point_id])
    cosines = np.array([dense[i] for i in ids], dtype=np.float64)
    bm25 = np.array([lexical.get(i, 0.0) for i in ids], dtype=np.float64)
    baseline = lexical_baseline(np.array(list(lexical.values()), dtype=np.float64), baseline_rank)
    scores = hybrid_scores(cosines, bm25, query_terms, weight, baseline)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [Fused(ids[i], float(scores[i]), float(cosines[i]), float(bm25[i])) for i in order]
