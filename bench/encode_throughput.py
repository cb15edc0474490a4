"""Encode throughput: passages per second at several batch sizes, one encoder at a time.

Each measurement encodes consecutive batches of the same (shuffled) passages until its time
budget is spent, after one unmeasured warm-up batch; the figure is passages / seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WARMUP_TEXTS = 4
EncodeBatch = Callable[[Sequence[str], int], object]  # (texts, batch size) → vectors


@dataclass(frozen=True)
class EncodeFigure:
    stack: str  # "ours" or "naive"
    variant: str  # "onnx-fp32", "onnx-int8", "torch-fp32"
    batch_size: int
    passages: int
    seconds: float

    @property
    def passages_per_s(self) -> float:
        return self.passages / self.seconds if self.seconds > 0 else 0.0


def shuffled(texts: Sequence[str], seed: int = 0) -> list[str]:
    """A fixed shuffle, so a budget-limited run sees the corpus' mix of lengths and scripts."""
    copy = list(texts)
    random.Random(seed).shuffle(copy)
    return copy


def measure_encode(
    stack: str,
    variant: str,
    encode: EncodeBatch,
    texts: Sequence[str],
    batch_size: int,
    budget_s: float,
) -> EncodeFigure:
    encode(texts[: min(batch_size, WARMUP_TEXTS)], batch_size)  # first-call set-up, unmeasured
    done = 0
    began = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        encode(batch, batch_size)
        done += len(batch)
        if time.perf_counter() - began >= budget_s:
            break
    return EncodeFigure(stack, variant, batch_size, done, time.perf_counter() - began)
