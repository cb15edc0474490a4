"""Split a document into passages that fit the encoder's window, by tokens, with overlap.

Cuts fall on token boundaries (via the tokenizer's character offsets), preferably after a
sentence end or at a word break near the end of the window. Every chunk is a substring of the
document, and every token of the document lies in at least one chunk: nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenizers import Tokenizer

# Characters that end a sentence (Latin, Devanagari danda, Arabic, Urdu, Ethiopic, Georgian,
# Myanmar); the ideographic / full-width ones need no following space.
SENTENCE_ENDS = frozenset(".!?\u2026\u0964\u0965\u061f\u06d4\u1362\u10fb\u104b")
SPACELESS_SENTENCE_ENDS = frozenset("\u3002\uff01\uff1f\uff1b")
# Search this fraction of the window, from its end backwards, for a nicer place to cut.
LOOKBACK_FRACTION = 4
# How many tokens past the overlap point to look for the start of a word.
WORD_START_SEARCH = 16


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    start: int  # character offsets of `text` in the document
    end: int
    tokens: int  # tokens of `text` alone (no prefix, no special tokens)


class _Spans:
    """Character spans of a document's tokens and what lies between them."""

    def __init__(self, text: str, spans: list[tuple[int, int]]) -> None:
        self.text = text
        self.spans = spans

    def __len__(self) -> int:
        return len(self.spans)

    def _gap(self, j: int) -> str:
        """The text between token j-1 and token j, plus token j's first character (the
        metaspace-prefixed tokens' spans start at the space before the word)."""
        token_start = self.spans[j][0]
        return self.text[self.spans[j - 1][1] : token_start + 1]

    def is_word_start(self, j: int) -> bool:
        """Whether token j begins after whitespace (or at the start of the text)."""
        return j == 0 or any(c.isspace() for c in self._gap(j))

    def is_paragraph_start(self, j: int) -> bool:
        return j == 0 or "\n" in self._gap(j)

    def is_sentence_start(self, j: int) -> bool:
        if j == 0:
            return True
        previous = self.text[self.spans[j - 1][1] - 1]
        if previous in SPACELESS_SENTENCE_ENDS:
            return True
        return previous in SENTENCE_ENDS and self.is_word_start(j)

    def best_cut(self, start: int, end: int) -> int:
        """A cut in (start, end]: the latest paragraph break near the end of the window, else
        the latest sentence end, else the latest word break, else `end` itself."""
        floor = max(start + 1, end - max(1, (end - start) // LOOKBACK_FRACTION))
        candidates = range(end, floor - 1, -1)
        for is_good_cut in (self.is_paragraph_start, self.is_sentence_start, self.is_word_start):
            for j in candidates:
                if is_good_cut(j):
                    return j
        return end

    def word_start_from(self, j: int, limit: int) -> int:
        """The first word start in [j, min(limit, j + WORD_START_SEARCH)), else j."""
        for k in range(j, min(limit, j + WORD_START_SEARCH)):
            if self.is_word_start(k):
                return k
        return j

    def slice(self, start: int, end: int) -> tuple[int, int]:
        """Character range of tokens [start, end), without surrounding whitespace."""
        a, b = self.spans[start][0], self.spans[end - 1][1]
        while a < b and self.text[a].isspace():
            a += 1
        while b > a and self.text[b - 1].isspace():
            b -= 1
        return a, b


def _count(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def chunk_text(
    text: str, tokenizer: Tokenizer, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Chunks of at most `max_tokens` tokens each (counted on the chunk's own text), the next
    starting about `overlap_tokens` before the previous one ends. A text that fits is one
    chunk, unchanged."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    if not 0 <= overlap_tokens <= max_tokens // 2:
        raise ValueError(f"overlap_tokens must be in [0, {max_tokens // 2}], got {overlap_tokens}")
    encoding = tokenizer.encode(text, add_special_tokens=False)
    if len(encoding.ids) <= max_tokens:
        return [Chunk(0, text, 0, len(text), len(encoding.ids))]
    # Tokens with an empty span (a lone metaspace marker) carry no text of their own.
    spans = _Spans(text, [(a, b) for a, b in encoding.offsets if b > a])
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = min(start + max_tokens, len(spans))
        if end < len(spans):
            end = spans.best_cut(start, end)
        # A substring can tokenize into more tokens than its span did inside the document
        # (a word cut mid-way gains a marker), so measure and shrink until it fits.
        while True:
            a, b = spans.slice(start, end)
            tokens = _count(tokenizer, text[a:b])
            if tokens <= max_tokens:
                break
            if end - start == 1:
                raise ValueError(f"token at offset {a} alone exceeds {max_tokens} tokens")
            end = max(start + 1, end - (tokens - max_tokens))
        chunks.append(Chunk(len(chunks), text[a:b], a, b, tokens))
        if end >= len(spans):
            return chunks
        start = spans.word_start_from(max(end - overlap_tokens, start + 1), end)
