"""Sentence vectors, their payload round trip and the choice of highlights, with the real model."""

from __future__ import annotations

import numpy as np

from app.encoder import OnnxEncoder
from app.highlights.indexing import encode_passages
from app.highlights.payload import decode_sentences, encode_sentences
from app.highlights.scoring import highlights
from app.highlights.sentences import split_sentences
from app.lexical import TermSplitter
from tests.api.test_highlights import ENGLISH, TRANSLATIONS


def test_late_sentence_vectors_come_from_the_passage_call_and_leave_its_vector_alone(
    encoder: OnnxEncoder,
) -> None:
    text = " ".join(TRANSLATIONS["fra"])
    spans = split_sentences(text)
    vectors, per_text = encoder.encode_spans([text], "passage", [spans])
    assert np.allclose(vectors, encoder.encode([text], "passage"))
    assert per_text[0].shape == (3, encoder.dim)
    assert np.allclose(np.linalg.norm(per_text[0], axis=1), 1.0, atol=1e-5)


def test_the_payload_round_trip_keeps_cosines_to_a_few_thousandths() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    spans = [(0, 5), (6, 10), (11, 20), (21, 30)]
    stored = decode_sentences(encode_sentences(spans, vectors), 30)
    assert stored is not None and stored.spans == spans and stored.vectors is not None
    assert np.abs(np.sum(stored.vectors * vectors, axis=1) - 1.0).max() < 0.003
    assert decode_sentences(encode_sentences(spans, vectors), 25) is None  # spans past the text
    assert decode_sentences(None, 30) is None
    assert decode_sentences({"spans": "x"}, 30) is None


def test_separately_encoded_sentences_highlight_the_translations(encoder: OnnxEncoder) -> None:
    """Five of the six: the packaged model (the tests' model) puts Swahili's Article 20 a little
    closer to the English Article 4 than Article 4 itself (0.916 vs 0.893); the served student
    gets all six."""
    terms = TermSplitter(encoder.tokenizer).terms
    queries = encoder.encode(ENGLISH, "query")
    right = 0
    for sentences in TRANSLATIONS.values():
        text = " ".join(sentences)
        _, payloads = encode_passages(encoder, [text], "separate")
        stored = decode_sentences(payloads[0], len(text))
        for vector, sentence in zip(queries, sentences, strict=True):
            best = highlights(text, stored, vector, None, terms)[0]
            right += text[best.start : best.end] == sentence
    assert right >= 5


def test_lexical_mode_highlights_the_sentences_holding_the_query_words(
    encoder: OnnxEncoder,
) -> None:
    text = " ".join(TRANSLATIONS["swh"])
    _, payloads = encode_passages(encoder, [text])
    stored = decode_sentences(payloads[0], len(text))
    terms = TermSplitter(encoder.tokenizer).terms
    found = highlights(text, stored, None, {"elimu", "haki"}, terms)
    assert [text[h.start : h.end] for h in found] == [TRANSLATIONS["swh"][2]]
    assert highlights(text, stored, None, {"nothing"}, terms) == []
