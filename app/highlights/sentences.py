"""Sentence splitting that holds for every script, as character spans of the text.

Highlights point at sentences, so the splitter must find them whatever the script: Latin `.`
followed by a space, but also the Devanagari danda `।` / `॥`, the Ethiopic full stop `።`, the
Armenian full stop (U+0589), the Myanmar `။`, the Khmer `។`, the Arabic `؟`, the Urdu full stop
(U+06D4) and the CJK full-width stop, exclamation and question marks,
several of which need no space after them. Thai and Lao write no sentence punctuation at all:
a space between two words of those scripts ends a phrase or a sentence, so it is a *weak*
boundary, kept only between pieces long enough to stand alone. A line break always ends a
sentence. Pieces too short to mean much on their own (a heading such as "Article 3", a
numbered item) join the sentence after them (or, at the end, the one before).

Every span is a substring of the text without surrounding whitespace; spans are ordered, do not
overlap, and cover every character that is not a separator.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

Span = tuple[int, int]

# Bumped whenever the rules below change: the writer hashes it into each document's fingerprint,
# so re-indexing refreshes the stored sentences (app/documents/writer.py).
SENTENCE_SCHEME = "s1"

# End a sentence even with no space after them: CJK full stops, question and exclamation
# marks (full and half width), Devanagari danda and double danda, Ethiopic full stop, question
# mark and paragraph separator, Armenian full stop, Myanmar section mark, Khmer khan and bariyoosan,
# Tibetan double shad, Syriac end of paragraph, Mongolian full stop, Arabic question mark, Urdu
# full stop.
SPACELESS_ENDS = frozenset(
    "\u3002\uff01\uff1f\uff61\u0964\u0965\u1362\u1367\u1368\u0589\u104b\u17d4\u17d5"
    "\u0f0e\u0700\u1803\u061f\u06d4"
)
# End a sentence when whitespace follows (after any closing quotes or brackets) and the next
# word does not start with a lower-case letter ("e.g. the" is one sentence).
SPACED_ENDS = frozenset(".!?\u2026\u203c\u2047\u2048\u2049")
ENDS = SPACELESS_ENDS | SPACED_ENDS
# Closing quotes and brackets that stay with the sentence they close.
CLOSERS = frozenset("\"')]}\u00bb\u203a\u2019\u201d\u300d\u300f\uff09\u3011\u3015\u300b\u3009")
# Characters trimmed from a sentence's ends besides whitespace: the Ethiopic word space `፡`,
# which follows `።` where other scripts put a space.
SEPARATORS = frozenset("\u1361")
LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85\x0b\x0c")
# Scripts whose spaces separate phrases and sentences rather than words: Thai, Lao.
_WEAK_SPACE_SCRIPTS = ((0x0E00, 0x0E7F), (0x0E80, 0x0EFF))
# Letters and digits a sentence needs to stand alone: after a punctuation mark or a line break,
# and after a weak (Thai or Lao) space.
MIN_LETTERS = 6
MIN_LETTERS_WEAK = 30


@dataclass
class _Piece:
    start: int
    end: int
    letters: int
    weak_end: bool  # ended by a Thai/Lao space rather than by punctuation or a line break


def _is_weak_space_script(character: str) -> bool:
    code = ord(character)
    return any(low <= code <= high for low, high in _WEAK_SPACE_SCRIPTS)


def _is_separator(character: str) -> bool:
    return character.isspace() or character in SEPARATORS


def _letters(text: str, start: int, end: int) -> int:
    return sum(1 for c in text[start:end] if unicodedata.category(c)[0] in "LN")


def _boundaries(text: str) -> list[tuple[int, bool]]:
    """(index where a new sentence may start, weak?) in increasing order."""
    found: list[tuple[int, bool]] = []
    n = len(text)
    i = 0
    while i < n:
        character = text[i]
        if character in LINE_BREAKS:
            found.append((i + 1, False))
        elif character in ENDS:
            j = i + 1
            while j < n and (text[j] in CLOSERS or text[j] in ENDS):
                j += 1
            if any(c in SPACELESS_ENDS for c in text[i:j]):
                found.append((j, False))
            elif j < n and text[j].isspace():
                k = j
                while k < n and text[k].isspace():
                    k += 1
                if k < n and not text[k].islower():
                    found.append((j, False))
            i = j
            continue
        elif character.isspace() and i > 0:
            k = i
            while k < n and text[k].isspace():
                k += 1
            before = text[i - 1]
            if k < n and _is_weak_space_script(before) and _is_weak_space_script(text[k]):
                found.append((i, True))
            i = k
            continue
        i += 1
    return found


def _pieces(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    start = 0
    for cut, weak in [*_boundaries(text), (len(text), False)]:
        a, b = start, cut
        while a < b and _is_separator(text[a]):
            a += 1
        while b > a and _is_separator(text[b - 1]):
            b -= 1
        if a < b:
            pieces.append(_Piece(a, b, _letters(text, a, b), weak))
        elif pieces and not weak:
            pieces[-1].weak_end = False  # an empty piece: the stronger boundary holds
        start = cut
    return pieces


def _short(piece: _Piece) -> bool:
    return piece.letters < (MIN_LETTERS_WEAK if piece.weak_end else MIN_LETTERS)


def split_sentences(text: str) -> list[Span]:
    """The sentences of `text` as (start, end) character offsets, in order. Text with no
    sentence boundary (or only blank) gives one span (none for an all-blank text)."""
    merged: list[_Piece] = []
    for piece in _pieces(text):
        if merged and _short(merged[-1]):
            last = merged[-1]
            merged[-1] = _Piece(last.start, piece.end, last.letters + piece.letters, piece.weak_end)
        else:
            merged.append(piece)
    if len(merged) > 1 and merged[-1].letters < MIN_LETTERS:
        last = merged.pop()
        merged[-1] = _Piece(merged[-1].start, last.end, merged[-1].letters + last.letters, False)
    return [(p.start, p.end) for p in merged]
