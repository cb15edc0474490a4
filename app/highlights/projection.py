"""A learned linear map that makes late-pooled sentence vectors read like sentences alone.

A sentence vector pooled from its passage's encoding ("late") carries much of the passage
around it, so the sentences of one passage look alike to a query. Each sentence encoded on its
own tells them apart far better, for twice the encoder work. The projection closes part of that
gap at no encoder cost: fitted by ridge regression from late vectors (and their passage's
vector) to the same sentences encoded alone, on training text (models/highlight_fit.py), it is
applied to each late vector at indexing:

    mapped = unit(sentence @ S + passage @ P);  stored = unit(mapped + sentence)

A model folder holds it as `highlight_projection.npy` (float32 [2, dim, dim]: S, then P); a
model without one stores its late vectors as they are.

The products run on one BLAS thread: indexing keeps every core busy with onnxruntime, and
OpenBLAS's own threads, woken for each small product, fought them for the cores (an indexing
run spent 4.6 s in these products with them, 0.3 s without). OpenBLAS's thread count is one
setting for the whole process, so the products take turns under a lock: a call that ends
cannot give the threads back while another one is still computing.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

FILE = "highlight_projection.npy"
Matrix = npt.NDArray[np.float32]
_BLAS = ThreadpoolController()
_ONE_BLAS_THREAD = threading.Lock()


def _unit(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    unit: Matrix = (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return unit


@dataclass(frozen=True)
class SentenceProjection:
    sentence: Matrix  # [dim, dim]: from the sentence's late vector
    passage: Matrix  # [dim, dim]: from its passage's vector

    def __post_init__(self) -> None:
        dim = self.sentence.shape[0]
        if self.sentence.shape != (dim, dim) or self.passage.shape != (dim, dim):
            raise ValueError(
                f"a sentence projection is two square matrices of one size, got "
                f"{self.sentence.shape} and {self.passage.shape}"
            )

    @property
    def digest(self) -> str:
        """Short content hash: stored sentence vectors name the projection that made them."""
        return hashlib.sha256(self.stacked().tobytes()).hexdigest()[:12]

    def stacked(self) -> Matrix:
        return np.stack([self.sentence, self.passage]).astype(np.float32)

    def apply(self, sentences: Matrix, passages: Matrix) -> Matrix:
        """The unit vectors to store for `sentences` ([n, dim], unit rows, late pooled), given
        the unit vector of each one's passage ([n, dim], or one [dim] for all)."""
        if len(sentences) == 0:
            return sentences
        with _ONE_BLAS_THREAD, _BLAS.limit(limits=1, user_api="blas"):
            mapped = _unit(sentences @ self.sentence + passages @ self.passage)
        return _unit(mapped + sentences)

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:  # np.save(path) would append ".npy" to other names
            np.save(handle, self.stacked(), allow_pickle=False)

    @classmethod
    def load(cls, path: Path) -> SentenceProjection:
        stacked = np.load(path, allow_pickle=False)
        if stacked.ndim != 3 or stacked.shape[0] != 2:
            raise ValueError(f"{path}: expected a [2, dim, dim] array, got {stacked.shape}")
        return cls(stacked[0].astype(np.float32), stacked[1].astype(np.float32))

    @classmethod
    def of_model(cls, model_dir: Path) -> SentenceProjection | None:
        """The model folder's projection, None when it has none."""
        path = model_dir / FILE
        return cls.load(path) if path.is_file() else None
