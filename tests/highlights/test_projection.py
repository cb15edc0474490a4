"""The highlight projection: its arithmetic, its file, its fit, and where indexing applies it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.encoder import OnnxEncoder
from app.highlights.indexing import encode_passages, index_fingerprint
from app.highlights.payload import decode_sentences
from app.highlights.projection import FILE, Matrix, SentenceProjection
from app.highlights.sentences import split_sentences
from models.highlight_fit import (
    FitRecipe,
    FitRows,
    figure_to_beat,
    fit_projection,
    training_passages,
)
from tests.api.test_highlights import TRANSLATIONS

DIM = 8


def _unit_rows(rng: np.random.Generator, rows: int) -> Matrix:
    x = rng.normal(size=(rows, DIM)).astype(np.float32)
    unit: Matrix = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


def test_a_zero_projection_keeps_the_late_vectors_and_any_gives_unit_rows() -> None:
    rng = np.random.default_rng(0)
    sentences, passage = _unit_rows(rng, 3), _unit_rows(rng, 1)[0]
    zero = SentenceProjection(np.zeros((DIM, DIM), np.float32), np.zeros((DIM, DIM), np.float32))
    assert np.allclose(zero.apply(sentences, passage), sentences, atol=1e-6)
    some = SentenceProjection(*rng.normal(size=(2, DIM, DIM)).astype(np.float32))
    out = some.apply(sentences, passage)
    assert out.shape == sentences.shape and not np.allclose(out, sentences)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert some.apply(sentences[:0], passage).shape == (0, DIM)


def test_the_file_round_trips_bit_for_bit_and_refuses_other_shapes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    projection = SentenceProjection(*rng.normal(size=(2, DIM, DIM)).astype(np.float32))
    projection.save(tmp_path / FILE)
    loaded = SentenceProjection.of_model(tmp_path)
    assert loaded is not None and loaded.digest == projection.digest
    assert np.array_equal(loaded.stacked(), projection.stacked())
    assert SentenceProjection.of_model(tmp_path / "elsewhere") is None
    np.save(tmp_path / "bad.npy", np.zeros((3, DIM, DIM), np.float32))
    with pytest.raises(ValueError, match=r"\[2, dim, dim\]"):
        SentenceProjection.load(tmp_path / "bad.npy")
    with pytest.raises(ValueError, match="square"):
        SentenceProjection(np.zeros((DIM, DIM), np.float32), np.zeros((DIM, 4), np.float32))


def test_the_fit_recovers_a_linear_map_from_late_and_passage_vectors() -> None:
    rng = np.random.default_rng(2)
    late, passage = _unit_rows(rng, 400), _unit_rows(rng, 400)
    from_sentence, from_passage = rng.normal(size=(2, DIM, DIM)).astype(np.float32)
    alone = late @ from_sentence + passage @ from_passage
    projection = fit_projection(FitRows(late, passage, alone.astype(np.float32)), ridge=1e-6)
    assert np.allclose(projection.sentence, from_sentence, atol=1e-3)
    assert np.allclose(projection.passage, from_passage, atol=1e-3)


def test_training_passages_are_consecutive_verses_from_seeded_starts() -> None:
    verses = {
        "aaa": [f"a{i}." for i in range(30)],
        "bbb": [f"b{i}." for i in range(10)],
        "ccc": ["c0.", "c1."],  # shorter than one passage: none
    }
    recipe = FitRecipe(verses_per_passage=4, passages_per_language=5, seed=7)
    passages = training_passages(verses, recipe)
    assert passages == training_passages(verses, recipe)
    assert len(passages) == 10 and not any(p.startswith("c") for p in passages)
    for passage in passages:
        numbers = [int(v[1:-1]) for v in passage.split()]
        assert numbers == list(range(numbers[0], numbers[0] + 4))
    assert passages != training_passages(
        verses, FitRecipe(verses_per_passage=4, passages_per_language=5, seed=8)
    )


def test_a_new_projection_must_beat_the_release_s_one_else_the_pooled_vectors() -> None:
    judged = {"summary": {"late": {"all": 0.70}, "pooled": {"all": 0.60}}}
    assert figure_to_beat({"name": "r"}, judged) == (0.60, "the pooled vectors")
    shipped = {"highlight_projection": {"evaluation": {"summary": {"late": {"all": 0.75}}}}}
    assert figure_to_beat(shipped, judged) == (0.75, "the release's projection")


def test_indexing_stores_projected_late_vectors_and_fingerprints_the_projection(
    model_dir: Path, tmp_path: Path, encoder: OnnxEncoder
) -> None:
    rng = np.random.default_rng(3)
    dim = encoder.dim
    projection = SentenceProjection(*(rng.normal(size=(2, dim, dim)) / 20).astype(np.float32))
    for item in model_dir.iterdir():  # the test model, plus a projection
        (tmp_path / item.name).symlink_to(item)
    projection.save(tmp_path / FILE)
    projected = OnnxEncoder(tmp_path, "int8")
    assert projected.sentence_projection is not None and encoder.sentence_projection is None
    text = " ".join(TRANSLATIONS["fra"])
    spans = split_sentences(text)
    vectors, late = encoder.encode_spans([text], "passage", [spans])
    _, payloads = encode_passages(projected, [text])
    stored = decode_sentences(payloads[0], len(text))
    assert stored is not None and stored.vectors is not None
    expected = projection.apply(late[0], vectors[0])
    assert np.abs(np.sum(stored.vectors * expected, axis=1) - 1).max() < 0.003  # int8 payload
    _, plain = encode_passages(encoder, [text])
    assert plain[0]["vectors"] != payloads[0]["vectors"]
    assert index_fingerprint("late", None) != index_fingerprint("late", projection)
    assert index_fingerprint("separate", None) == index_fingerprint("separate", projection)
