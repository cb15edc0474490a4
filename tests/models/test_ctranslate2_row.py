"""`python -m bench.graph_variants --ctranslate2`: the model converted to CTranslate2's int8 gives
the float model's vectors within int8's rounding, through the service's own encoder code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.encoder import OnnxEncoder
from bench.graph_variants import ctranslate2_encoder

pytest.importorskip("transformers", reason="the converter loads the model with transformers")
pytestmark = pytest.mark.torch


def test_the_converted_int8_model_agrees_with_the_float_graph(
    model_dir: Path, sentences: list[str], tmp_path: Path
) -> None:
    converted = ctranslate2_encoder(model_dir, tmp_path, threads=1).encode(sentences, "passage")
    expected = OnnxEncoder(model_dir, "fp32").encode(sentences, "passage")
    cosines = np.sum(converted * expected, axis=1)
    # int8 weights and activations: near the float vectors (the served int8 graph reads 0.998
    # at worst on demo passages), never equal to them.
    assert float(cosines.min()) >= 0.99 and float(cosines.max()) < 0.99999
