"""What the writer stores for highlights: each passage's sentences and their vectors.

`late` (the default) pools the token states of the passage's own encoder call per sentence
(`OnnxEncoder.encode_spans`): no extra encoder work; where the model has a highlight projection
(app/highlights/projection.py), the pooled vectors go through it. `separate` encodes every
sentence of a passage of two or more on its own besides: more accurate sentence vectors
(docs/search.md measures them all) for about twice the encoder work at indexing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import numpy as np

from app.encoder import Embeddings, Encoder
from app.highlights.payload import encode_sentences
from app.highlights.projection import SentenceProjection
from app.highlights.sentences import Span, split_sentences
from app.settings import SentenceVectors

SENTENCE_VECTORS: tuple[SentenceVectors, ...] = get_args(SentenceVectors)


def index_fingerprint(method: SentenceVectors, projection: SentenceProjection | None) -> str:
    """Goes into each document's hash: a change of method or (for `late`) projection re-indexes
    it. (A change of the splitter re-indexes the documents whose sentences it moves: the writer
    hashes each document's spans.)"""
    if method == "late" and projection is not None:
        return f"{method}-{projection.digest}"
    return method


def sentence_projection(encoder: Encoder) -> SentenceProjection | None:
    """The encoder's highlight projection, if its model has one."""
    projection: SentenceProjection | None = getattr(encoder, "sentence_projection", None)
    return projection


def encode_passages(
    encoder: Encoder,
    texts: Sequence[str],
    method: SentenceVectors = "late",
) -> tuple[Embeddings, list[dict[str, Any]]]:
    """The passages' vectors and, for each, the payload value of its sentences."""
    spans = [split_sentences(t) for t in texts]
    # Sentence vectors only where there is a choice to make: two sentences or more.
    wanted: list[Sequence[Span]] = [s if len(s) > 1 else [] for s in spans]
    encode_spans = getattr(encoder, "encode_spans", None)
    if method == "separate" or encode_spans is None:
        vectors = encoder.encode(texts, "passage")
        per_text = _separately(encoder, texts, wanted) if encode_spans is not None else None
    else:
        vectors, pooled = encode_spans(texts, "passage", wanted)
        per_text = project_sentences(encoder, vectors, pooled)
    return vectors, [
        encode_sentences(s, None if per_text is None else per_text[i]) for i, s in enumerate(spans)
    ]


def project_sentences(
    encoder: Encoder, passages: Embeddings, sentences: Sequence[Embeddings]
) -> list[Embeddings]:
    """Each text's pooled sentence vectors as `late` stores them: through the encoder's
    projection where its model has one (one product for them all), else as they are."""
    projection = sentence_projection(encoder)
    counts = [len(s) for s in sentences]
    if projection is None or not sum(counts):
        return list(sentences)
    stacked = projection.apply(np.concatenate(sentences), np.repeat(passages, counts, axis=0))
    return np.split(stacked, np.cumsum(counts)[:-1])


def _separately(
    encoder: Encoder, texts: Sequence[str], spans: Sequence[Sequence[Span]]
) -> list[Embeddings]:
    sentences = [texts[i][a:b] for i, text_spans in enumerate(spans) for a, b in text_spans]
    encoded = encoder.encode(sentences, "passage") if sentences else np.empty((0, encoder.dim))
    out, row = [], 0
    for text_spans in spans:
        out.append(encoded[row : row + len(text_spans)].astype(np.float32))
        row += len(text_spans)
    return out
