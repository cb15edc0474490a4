"""A passage's sentences as stored in its payload: offsets and compact sentence vectors.

`sentences` holds `spans` (the sentences' [start, end) character offsets into `text`) and, when
there are two or more, their vectors: int8 per value with one float scale per sentence
(`scales`), the rows' bytes in base64 (`vectors`). 384 bytes a sentence instead of 1,536 as
float32; the rounding moves a cosine by about 0.002, far less than what separates sentences.
A passage of one sentence stores no vector: its highlight is the whole text.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.highlights.sentences import Span

FIELD = "sentences"
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StoredSentences:
    spans: list[Span]
    vectors: Vectors | None  # (len(spans), dim) float32, None for a single sentence


def encode_sentences(spans: Sequence[Span], vectors: Vectors | None) -> dict[str, Any]:
    """The payload value for these sentences and their (L2-normalised) vectors."""
    value: dict[str, Any] = {"spans": [[int(a), int(b)] for a, b in spans]}
    if vectors is None or len(spans) < 2:
        return value
    peaks = np.abs(vectors).max(axis=1)
    scales = np.where(peaks > 0, peaks / 127.0, 1.0).astype(np.float32)
    quantised = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    value["scales"] = [float(s) for s in scales]
    value["vectors"] = base64.b64encode(quantised.tobytes()).decode("ascii")
    return value


def decode_sentences(value: object, text_length: int) -> StoredSentences | None:
    """The stored sentences, or None when the payload holds none (a passage indexed before
    highlights existed) or holds something malformed (never an error at search time)."""
    if not isinstance(value, dict):
        return None
    try:
        spans = [(int(a), int(b)) for a, b in value["spans"]]
        if not spans or any(not 0 <= a < b <= text_length for a, b in spans):
            return None
        if "vectors" not in value:
            return StoredSentences(spans, None)
        scales = np.asarray(value["scales"], dtype=np.float32)
        raw = np.frombuffer(base64.b64decode(value["vectors"]), dtype=np.int8)
        rows = raw.reshape(len(spans), -1).astype(np.float32) * scales[:, None]
    except (KeyError, TypeError, ValueError):
        return None
    if len(scales) != len(spans):
        return None
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return StoredSentences(spans, rows / np.maximum(norms, 1e-12))
