"""Embeddings cached on disk, keyed by the encoder's fingerprint and a hash of the texts.

A rerun of the benchmark (or a run with one more baseline) encodes nothing it has seen.
Files appear only complete (written beside, then renamed)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.encoder import Embeddings, TextKind
from models.evaluation.arguments import DEFAULT_EMBEDDING_CACHE
from models.evaluation.encoders import EvalEncoder


class CachedEncoder:
    """Wraps an encoder; also counts the texts it really encoded and the time it took."""

    def __init__(self, encoder: EvalEncoder, root: Path = DEFAULT_EMBEDDING_CACHE) -> None:
        self.inner = encoder
        self.directory = root / encoder.fingerprint
        self.encoded_texts = 0
        self.encode_seconds = 0.0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def uses_kind(self) -> bool:
        return self.inner.uses_kind

    def _path(self, texts: Sequence[str], kind: TextKind) -> Path:
        digest = hashlib.sha256()
        digest.update((kind if self.inner.uses_kind else "any").encode())
        for text in texts:
            digest.update(b"\0")
            digest.update(text.encode("utf-8"))
        return self.directory / f"{digest.hexdigest()[:32]}.npy"

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        path = self._path(texts, kind)
        if path.is_file():
            cached: Embeddings = np.load(path)
            return cached
        started = time.perf_counter()
        vectors = self.inner.encode(texts, kind)
        self.encode_seconds += time.perf_counter() - started
        self.encoded_texts += len(texts)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.npy")
        np.save(partial, vectors)
        partial.replace(path)
        return vectors


def measure_throughput(
    encoder: EvalEncoder, texts: Sequence[str], kind: TextKind = "passage", rounds: int = 3
) -> float:
    """Texts per second: the best of `rounds` uncached passes over `texts` (after a small
    warm-up), so that a moment of load from another process does not decide the figure."""
    encoder.encode(list(texts[:4]), kind)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        encoder.encode(texts, kind)
        best = min(best, time.perf_counter() - started)
    return len(texts) / max(best, 1e-9)
