"""Which sentences of a hit to highlight, and how well each matches the query.

A sentence's score is its cosine similarity with the query's vector (the one the search
already computed), plus, where the search mode uses the query's words, `LEXICAL_WEIGHT` x the
share of the query's distinct terms (app/lexical/terms.py) the sentence holds: the same kind of
evidence the hybrid ranking adds, per sentence. Lexical mode encodes no query vector, so there
the share of terms alone scores. The best sentence is highlighted, and the next ones as well
while they score within `MARGIN` of it (at most `MAX_HIGHLIGHTS`): a near-tie is shown rather
than hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.highlights.payload import StoredSentences

LEXICAL_WEIGHT = 0.1
MARGIN = 0.02
MAX_HIGHLIGHTS = 3


@dataclass(frozen=True)
class Highlight:
    start: int
    end: int
    score: float


def term_shares(
    text: str,
    stored: StoredSentences,
    query_terms: Collection[str],
    terms_of: Callable[[str], list[str]],
) -> npt.NDArray[np.float64]:
    """The share of the query's distinct terms found in each sentence."""
    wanted = set(query_terms)
    if not wanted:
        return np.zeros(len(stored.spans))
    return np.array([len(wanted & set(terms_of(text[a:b]))) / len(wanted) for a, b in stored.spans])


def highlights(
    text: str,
    stored: StoredSentences | None,
    query_vector: npt.NDArray[np.float32] | None,
    query_terms: Collection[str] | None,
    terms_of: Callable[[str], list[str]],
    passage_cosine: float | None = None,
) -> list[Highlight]:
    """The highlighted sentences of one hit, best first. `query_vector` None: lexical mode;
    `query_terms` None: dense mode; `passage_cosine`: the hit's own cosine, the score of a
    passage of one sentence. No stored sentences (indexed before highlights): none."""
    if stored is None:
        return []
    if len(stored.spans) == 1:
        start, end = stored.spans[0]
        if query_vector is not None and passage_cosine is not None:
            score = passage_cosine
        else:
            score = float(term_shares(text, stored, query_terms or (), terms_of)[0])
        return [Highlight(start, end, round(score, 4))]
    scores = np.zeros(len(stored.spans))
    dense = query_vector is not None and stored.vectors is not None
    if dense:
        assert query_vector is not None and stored.vectors is not None
        scores += stored.vectors @ query_vector.astype(np.float32)
    if query_terms:
        shares = term_shares(text, stored, query_terms, terms_of)
        scores += shares * (LEXICAL_WEIGHT if dense else 1.0)
    elif not dense:
        return []  # neither vectors nor words to tell the sentences apart
    order = np.argsort(-scores, kind="stable")
    best = scores[order[0]]
    if not dense and best <= 0:
        return []
    chosen = [i for i in order[:MAX_HIGHLIGHTS] if scores[i] >= best - MARGIN]
    return [
        Highlight(stored.spans[i][0], stored.spans[i][1], round(float(scores[i]), 4))
        for i in chosen
    ]
