"""`/v1/embeddings` reports token usage without tokenising its texts a second time: the
encoder remembers the counts of the texts it just encoded."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from app.encoder import OnnxEncoder


class _NoEncoding:
    """A tokenizer stand-in that fails if anything tokenises through it."""

    def encode(self, *_: object, **__: object) -> object:
        raise AssertionError("tokenised a second time")


def test_counts_after_encoding_come_from_the_same_tokenisation(model_dir: Path) -> None:
    encoder = OnnxEncoder(model_dir, "int8", threads=1)
    texts = ["a short query", "une phrase un peu plus longue que la première, en français"]
    expected = [encoder.count_tokens(t, "query") for t in texts]  # tokenised here, not cached
    assert expected[0] < expected[1]
    encoder.encode(texts, "query")
    real: Tokenizer = encoder._tokenizer
    encoder._tokenizer = _NoEncoding()  # type: ignore[assignment]
    try:
        assert [encoder.count_tokens(t, "query") for t in texts] == expected
        with pytest.raises(AssertionError, match="second time"):
            encoder.count_tokens(texts[0], "passage")  # another prefix: not what was encoded
    finally:
        encoder._tokenizer = real
