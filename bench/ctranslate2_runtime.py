"""The encoder in CTranslate2, for `python -m bench.graph_variants --ctranslate2`.

CTranslate2 runs Transformer models in its own format, converted from the model's `hf/` folder by
its converter (which loads the model with transformers and torch: the dev extra has both). Its
int8 (`int8_float32`) stores each weight row in int8 and quantises each activation row as it
runs, as the served int8 graph does (docs/bench/int8.md), with float attention.

`CTranslate2Encoder` runs it behind the service's own tokenising, batching and pooling: its
session is opened from the `ctranslate2/` folder beside the model folder's ONNX file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.encoder import Embeddings, GraphSession, OnnxEncoder
from models.build import HF_DIR

FOLDER = "ctranslate2"  # the converted model, beside the model folder's ONNX file
COMPUTE_TYPE = "int8_float32"


def convert(model_dir: Path, target: Path) -> None:
    """`model_dir`'s `hf/` model in CTranslate2's format, its weights int8, into `target`."""
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(model_dir / HF_DIR)).convert(
        str(target), quantization="int8", force=True
    )


def ctranslate2_session(graph: Path, threads: int) -> GraphSession:
    import ctranslate2  # a benchmark dependency (the dev extra), never the service's

    encoder = ctranslate2.Encoder(
        str(graph.parent / FOLDER),
        device="cpu",
        compute_type=COMPUTE_TYPE,
        intra_threads=threads,
        inter_threads=1,
    )
    return _ConvertedModel(encoder)


class _ConvertedModel:
    """A CTranslate2 encoder behind onnxruntime's `run` (`last_hidden_state` only), one call at
    a time."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder
        self._lock = threading.Lock()

    def run(
        self, output_names: list[str], input_feed: dict[str, npt.NDArray[np.int64]]
    ) -> list[Embeddings]:
        if output_names != ["last_hidden_state"]:
            raise ValueError(f"a CTranslate2 encoder gives last_hidden_state, not {output_names}")
        lengths = input_feed["attention_mask"].sum(axis=1)
        rows = zip(input_feed["input_ids"], lengths, strict=True)
        ids = [row[:length].tolist() for row, length in rows]
        with self._lock:
            output = self._encoder.forward_batch(ids)
        return [np.asarray(output.last_hidden_state, dtype=np.float32)]


class CTranslate2Encoder(OnnxEncoder):
    """The service's encoder (tokenising, batching, pooling) over a CTranslate2 model."""

    open_session = staticmethod(ctranslate2_session)
