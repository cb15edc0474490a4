"""Chunking with the real tokenizer: nothing dropped, every chunk fits, chunks overlap."""

from __future__ import annotations

import itertools

import pytest

from app.documents.chunking import Chunk, chunk_text
from app.encoder import OnnxEncoder
from indexer.udhr import UdhrDeclaration

# Scripts with spaces, without spaces (Chinese, Thai), right-to-left, and Ethiopic.
LANGUAGES = ["eng", "swh", "cmn_hans", "tha", "arb", "amh", "hin"]


def _whole_declaration(declaration: UdhrDeclaration) -> str:
    return "\n".join((*declaration.preamble, *(a.text for a in declaration.articles)))


def _assert_covers_every_token(text: str, chunks: list[Chunk], encoder: OnnxEncoder) -> None:
    encoding = encoder.tokenizer.encode(text, add_special_tokens=False)
    for a, b in encoding.offsets:
        core = text[a:b].strip()
        if not core:
            continue
        a += text[a:b].index(core)
        b = a + len(core)
        assert any(c.start <= a and b <= c.end for c in chunks), f"token {text[a:b]!r} dropped"


@pytest.mark.parametrize("code", LANGUAGES)
def test_long_document_chunks_cover_every_token_and_fit(
    code: str, declarations: dict[str, UdhrDeclaration], encoder: OnnxEncoder
) -> None:
    text = _whole_declaration(declarations[code])
    max_tokens, overlap = 96, 16
    chunks = chunk_text(text, encoder.tokenizer, max_tokens, overlap)

    assert len(chunks) > 10
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()
        tokens = len(encoder.tokenizer.encode(chunk.text, add_special_tokens=False).ids)
        assert tokens == chunk.tokens <= max_tokens
    for previous, following in itertools.pairwise(chunks):
        assert following.start < previous.end, "consecutive chunks must overlap"
        assert following.start > previous.start
    _assert_covers_every_token(text, chunks, encoder)


def test_chunks_at_the_model_limit_are_accepted_by_the_encoder(
    declarations: dict[str, UdhrDeclaration], encoder: OnnxEncoder
) -> None:
    text = _whole_declaration(declarations["eng"]) + "\n" + _whole_declaration(declarations["tha"])
    limit = encoder.content_token_limit("passage")
    chunks = chunk_text(text, encoder.tokenizer, limit, 32)

    assert len(chunks) > 2
    assert (
        max(encoder.count_tokens(c.text, "passage") for c in chunks) <= encoder.card.max_seq_length
    )
    vectors = encoder.encode([c.text for c in chunks], "passage")  # raises if any is too long
    assert vectors.shape == (len(chunks), encoder.dim)
    _assert_covers_every_token(text, chunks, encoder)


def test_without_overlap_chunks_are_adjacent(
    declarations: dict[str, UdhrDeclaration], encoder: OnnxEncoder
) -> None:
    text = _whole_declaration(declarations["eng"])
    chunks = chunk_text(text, encoder.tokenizer, 64, 0)
    for previous, following in itertools.pairwise(chunks):
        assert text[previous.end : following.start].strip() == ""
    _assert_covers_every_token(text, chunks, encoder)


def test_cuts_prefer_paragraph_and_sentence_ends(
    declarations: dict[str, UdhrDeclaration], encoder: OnnxEncoder
) -> None:
    text = "\n".join(a.text for a in declarations["eng"].articles)
    chunks = chunk_text(text, encoder.tokenizer, 128, 0)
    nice = sum(1 for c in chunks[:-1] if c.text[-1] in ".;:," or text[c.end] == "\n")
    assert nice >= 0.8 * (len(chunks) - 1)


def test_a_text_that_fits_is_one_unchanged_chunk(encoder: OnnxEncoder) -> None:
    text = "Kila mtu ana haki ya uhuru wa mawazo, dhamira na dini."
    (chunk,) = chunk_text(text, encoder.tokenizer, 64, 8)
    assert (chunk.text, chunk.start, chunk.end) == (text, 0, len(text))


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, 6), (10, -1)])
def test_impossible_sizes_are_refused(encoder: OnnxEncoder, max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_text("some text", encoder.tokenizer, max_tokens, overlap)
