"""BM25 as sparse vectors: the store multiplies them and applies the inverse document frequency.

A passage's vector holds, per term, the BM25 term-frequency part
`tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / AVERAGE_TERMS))`; a query's vector holds 1.0
per distinct term. The store's IDF modifier (`log(1 + (N - n + 0.5) / (n + 0.5))` over the points
that have a sparse vector) turns their dot product into the BM25 score, with document
frequencies that follow every upsert and delete. Terms are hashed to 32-bit indices (CRC-32):
no vocabulary to keep, any language; two terms colliding in 4 billion merely share a weight.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

K1 = 1.2
B = 0.75
# Passage length (in terms) at which no length correction applies. A constant, not the
# collection's running mean, so that a passage's vector never changes after it is written.
AVERAGE_TERMS = 64.0


@dataclass(frozen=True)
class SparseTerms:
    """A sparse vector: sorted distinct indices and their weights."""

    indices: tuple[int, ...]
    values: tuple[float, ...]

    def __bool__(self) -> bool:
        return bool(self.indices)


def term_index(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


def _sparse(weights: dict[int, float]) -> SparseTerms:
    indices = tuple(sorted(weights))
    return SparseTerms(indices, tuple(weights[i] for i in indices))


def document_vector(terms: Sequence[str]) -> SparseTerms:
    counts = Counter(term_index(t) for t in terms)
    norm = K1 * (1 - B + B * len(terms) / AVERAGE_TERMS)
    return _sparse({index: tf * (K1 + 1) / (tf + norm) for index, tf in counts.items()})


def query_vector(terms: Sequence[str]) -> SparseTerms:
    return _sparse(dict.fromkeys((term_index(t) for t in terms), 1.0))


def idf(points: int, with_term: int) -> float:
    """The inverse document frequency Qdrant's IDF modifier applies (Lucene's BM25 form)."""
    return math.log(1 + (points - with_term + 0.5) / (with_term + 0.5))
