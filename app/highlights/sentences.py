"""Sentence splitting that holds for every script, as character spans of the text.

Highlights point at sentences, so the splitter must find them whatever the script. A sentence
ends at one of Unicode's sentence terminals (the `Sentence_Terminal` property: the Latin `.`,
`!` and `?`, the Devanagari danda `।` / `॥`, the Ethiopic full stop `።`, the Armenian full stop,
the Myanmar `။`, the Khmer `។`, the Arabic `؟`, the Urdu full stop, the CJK full-width marks, the
dandas of the Brahmic scripts, the Javanese `꧉`, ... about 170 characters in all). The Latin-style
marks need a space after them and a next word that does not start in lower case (`3.5`,
"e.g. the"); the other scripts' marks end a sentence as they stand. Ethiopic text typed
without `።` writes two word spaces `፡፡` for it. Thai, Lao and Tai Tham write no sentence
punctuation at all, and Tibetan's shad `།` ends a phrase as often as a sentence: there a space
between two words (or a shad) is a *weak* boundary, kept only between pieces long enough to
stand alone. A line break always ends a sentence. Pieces too short to mean much on their own
(a heading such as "Article 3", a numbered item) join the sentence after them (or, at the end,
the one before).

Every span is a substring of the text without surrounding whitespace; spans are ordered, do not
overlap, and cover every character that is not a separator.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

Span = tuple[int, int]

# Unicode's Sentence_Terminal characters (PropList.txt, as the `regex` package's
# \p{Sentence_Terminal} has them: tests/highlights/test_sentences.py holds the two to the same
# list), as ranges of code points.
_SENTENCE_TERMINAL_RANGES = (
    (0x0021, 0x0021), (0x002E, 0x002E), (0x003F, 0x003F), (0x0589, 0x0589), (0x061D, 0x061F),
    (0x06D4, 0x06D4), (0x0700, 0x0702), (0x07F9, 0x07F9), (0x0837, 0x0837), (0x0839, 0x0839),
    (0x083D, 0x083E), (0x0964, 0x0965), (0x104A, 0x104B), (0x1362, 0x1362), (0x1367, 0x1368),
    (0x166E, 0x166E), (0x1735, 0x1736), (0x17D4, 0x17D5), (0x1803, 0x1803), (0x1809, 0x1809),
    (0x1944, 0x1945), (0x1AA8, 0x1AAB), (0x1B4E, 0x1B4F), (0x1B5A, 0x1B5B), (0x1B5E, 0x1B5F),
    (0x1B7D, 0x1B7F), (0x1C3B, 0x1C3C), (0x1C7E, 0x1C7F), (0x2024, 0x2024), (0x203C, 0x203D),
    (0x2047, 0x2049), (0x2CF9, 0x2CFB), (0x2E2E, 0x2E2E), (0x2E3C, 0x2E3C), (0x2E53, 0x2E54),
    (0x2E60, 0x2E61), (0x3002, 0x3002), (0xA4FF, 0xA4FF), (0xA60E, 0xA60F), (0xA6F3, 0xA6F3),
    (0xA6F7, 0xA6F7), (0xA876, 0xA877), (0xA8CE, 0xA8CF), (0xA92F, 0xA92F), (0xA9C8, 0xA9C9),
    (0xAA5D, 0xAA5F), (0xAAF0, 0xAAF1), (0xABEB, 0xABEB), (0xFE12, 0xFE12), (0xFE15, 0xFE16),
    (0xFE52, 0xFE52), (0xFE56, 0xFE57), (0xFF01, 0xFF01), (0xFF0E, 0xFF0E), (0xFF1F, 0xFF1F),
    (0xFF61, 0xFF61), (0x10A56, 0x10A57), (0x10F55, 0x10F59), (0x10F86, 0x10F89),
    (0x11047, 0x11048), (0x110BE, 0x110C1), (0x11141, 0x11143), (0x111C5, 0x111C6),
    (0x111CD, 0x111CD), (0x111DE, 0x111DF), (0x11238, 0x11239), (0x1123B, 0x1123C),
    (0x112A9, 0x112A9), (0x113D4, 0x113D5), (0x1144B, 0x1144C), (0x115C2, 0x115C3),
    (0x115C9, 0x115D7), (0x11641, 0x11642), (0x1173C, 0x1173E), (0x11944, 0x11944),
    (0x11946, 0x11946), (0x11A42, 0x11A43), (0x11A9B, 0x11A9C), (0x11C41, 0x11C42),
    (0x11EF7, 0x11EF8), (0x11F43, 0x11F44), (0x16A6E, 0x16A6F), (0x16AF5, 0x16AF5),
    (0x16B37, 0x16B38), (0x16B44, 0x16B44), (0x16D6E, 0x16D6F), (0x16E98, 0x16E98),
    (0x1BC9F, 0x1BC9F), (0x1DA88, 0x1DA88),
)  # fmt: skip
SENTENCE_TERMINALS = frozenset(
    chr(code) for low, high in _SENTENCE_TERMINAL_RANGES for code in range(low, high + 1)
)
# Two terminals to Unicode that their scripts write as commas, inside sentences: the Myanmar
# little section `၊` and the Javanese pada lingsa `꧈`.
COMMA_LIKE_TERMINALS = frozenset("\u104a\ua9c8")
# The terminals of Latin, Greek and Cyrillic text (ASCII, General and Supplemental Punctuation,
# their small forms) and the ellipsis: they end a sentence when whitespace follows (after any
# closing quotes or brackets) and the next word does not start in lower case.
SPACED_ENDS = frozenset(
    c
    for c in SENTENCE_TERMINALS
    if c < "\u0080" or "\u2000" <= c <= "\u2e7f" or "\ufe50" <= c <= "\ufe6f"
) | {"\u2026"}
# Every other script's terminals end a sentence even with no space after them; so does the
# Tibetan double shad `༎`.
SPACELESS_ENDS = (SENTENCE_TERMINALS - SPACED_ENDS - COMMA_LIKE_TERMINALS) | {"\u0f0e"}
ENDS = SPACELESS_ENDS | SPACED_ENDS
# Closing quotes and brackets that stay with the sentence they close.
CLOSERS = frozenset("\"')]}\u00bb\u203a\u2019\u201d\u300d\u300f\uff09\u3011\u3015\u300b\u3009")
# The Ethiopic word space `፡`, which follows `።` where other scripts put a space: twice in a
# row it stands for `።`.
ETHIOPIC_WORD_SPACE = "\u1361"
ETHIOPIC_STOP = ETHIOPIC_WORD_SPACE * 2  # a full stop, kept in its sentence as `።` is
# Characters trimmed from a sentence's ends besides whitespace: the Ethiopic word space and the
# zero-width space (which Javanese, Thai, Khmer or Myanmar text may put after a word or a mark).
SEPARATORS = frozenset(ETHIOPIC_WORD_SPACE + "\u200b")
LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85\x0b\x0c")
# Scripts whose spaces separate phrases and sentences rather than words: Thai, Lao, Tai Tham.
_WEAK_SPACE_SCRIPTS = ((0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x1A20, 0x1AAF))
# The Tibetan shad: the end of a phrase or of a sentence (a weak boundary).
TIBETAN_SHAD = "\u0f0d"
# Georgian's Mkhedruli letters are lower case to Unicode (their capitals, Mtavruli, serve for
# emphasis only), yet a sentence starts with one.
_UNCASED_LOWER_CASE = ((0x10D0, 0x10FF),)
# Letters and digits a sentence needs to stand alone: after a punctuation mark or a line break,
# and after a weak boundary (a Thai, Lao or Tai Tham space, a Tibetan shad).
MIN_LETTERS = 6
MIN_LETTERS_WEAK = 30


@dataclass
class _Piece:
    start: int
    end: int
    letters: int
    weak_end: bool  # ended by a weak boundary rather than by punctuation or a line break


def _in(character: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(character)
    return any(low <= code <= high for low, high in ranges)


def _is_weak_space_script(character: str) -> bool:
    return _in(character, _WEAK_SPACE_SCRIPTS)


def _starts_lower_case(character: str) -> bool:
    """Whether a word starting with `character` continues a sentence rather than starting one
    ("e.g. the")."""
    return character.islower() and not _in(character, _UNCASED_LOWER_CASE)


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
                if k < n and not _starts_lower_case(text[k]):
                    found.append((j, False))
            i = j
            continue
        elif character == TIBETAN_SHAD:
            j = i + 1
            while j < n and (text[j] == TIBETAN_SHAD or text[j] in CLOSERS):
                j += 1
            found.append((j, True))
            i = j
            continue
        elif text.startswith(ETHIOPIC_STOP, i):
            j = i + 2
            while j < n and text[j] == ETHIOPIC_WORD_SPACE:
                j += 1
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
        while b > a and _is_separator(text[b - 1]) and not text.endswith(ETHIOPIC_STOP, a, b):
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
