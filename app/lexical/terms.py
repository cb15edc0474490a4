"""Terms for lexical matching that hold for every language: no stemming, no stop words.

Text is NFKC-normalised and case-folded, then cut into words at every character that is not a
letter, mark or digit. Scripts written without spaces between words (Thai, Lao, Khmer,
Chinese, Japanese, Yi) give no words that way, so their runs are cut into the encoder's own
subword pieces instead: its tokenizer covers every script the model knows, and a piece of a
Thai or Chinese word is as much a term as a word of Swahili. Some scripts are cut into syllables
instead, as Chinese is into characters, because the tokenizer knows them (or, for Myanmar,
its languages other than Burmese) only letter by letter, and single letters match everything
while whole phrases match nothing a user types: Tibetan ends each syllable with a tsheg `་`
(punctuation, so a cut here); Myanmar script (Burmese, Shan, Mon, the Karen languages), Tai
Tham (Khün, Northern Thai, Tai Lü), Javanese, Balinese and Buginese script, written without
spaces, start a syllable at each letter that is neither stacked under the one before nor
killed (made the previous syllable's final consonant) by the mark after it; a number is one
term.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from tokenizers import Tokenizer

TermScheme = Literal["words", "subwords"]
TERM_SCHEMES: tuple[TermScheme, ...] = ("words", "subwords")

_WORD_CATEGORIES = frozenset("LMN")  # letters, marks and digits of any script
# Scripts without spaces between words: Thai, Lao, Khmer, CJK (Kana, Han, Hangul is spaced and
# not listed: CJK compatibility ideographs, extension A and the supplementary planes'
# extensions), Yi.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1780-\u17ff\u19e0-\u19ff"
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)
_PIECE_MARK = "\u2581"  # SentencePiece's word-start marker
# Scripts cut into syllables by rule: Myanmar and its extensions (A: Shan, Khamti, Aiton; B:
# Shan, Pa'O, Tai Laing), Tai Tham, Javanese, Balinese, Buginese.
_SYLLABIC_RUNS = re.compile(
    "([\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f\u1a20-\u1aaf\ua980-\ua9df"
    "\u1b00-\u1b7f\u1a00-\u1a1f]+)"
)
# A letter after one of these is stacked under the letter before, in its syllable: Myanmar's
# virama, Tai Tham's sakot. (Javanese's pangkon before a letter writes the next syllable's first
# consonant as a pasangan, and Balinese's adeg-adeg a gantungan: that letter starts a syllable.)
_STACKERS = frozenset("\u1039\u1a60")
# A letter before one of these is killed: the final consonant of the syllable before. Myanmar's
# asat and virama, Tai Tham's ra haam and karan, Javanese's pangkon, Balinese's adeg-adeg.
_KILLERS = frozenset("\u103a\u1039\u1a7a\u1a7c\ua9c0\u1b44")
# Marks that text may put between a killed letter and its killer: Myanmar's dot below, Tai
# Tham's tone marks.
_BEFORE_KILLERS = frozenset("\u1037\u1a75\u1a76\u1a77\u1a78\u1a79")


class TermSplitter:
    """Cuts text into lexical terms. `words`: whole words, subword pieces only for unspaced
    scripts; `subwords`: the encoder's subword pieces everywhere (one scheme for all scripts)."""

    def __init__(self, tokenizer: Tokenizer, scheme: TermScheme = "words") -> None:
        if scheme not in TERM_SCHEMES:
            raise ValueError(f"unknown term scheme {scheme!r} (known: {', '.join(TERM_SCHEMES)})")
        self._tokenizer = tokenizer
        self.scheme = scheme

    def terms(self, text: str) -> list[str]:
        folded = unicodedata.normalize("NFKC", text).casefold()
        if self.scheme == "subwords":
            return self._pieces(folded)
        terms: list[str] = []
        for word in _words(folded):
            if _SYLLABIC_RUNS.search(word):
                terms += _syllables(word)
            elif _UNSPACED.search(word):
                terms += self._pieces(word)
            else:
                terms.append(word)
        return terms

    def _pieces(self, text: str) -> list[str]:
        """Subword pieces that hold a letter, mark or digit (punctuation pieces are dropped),
        without the word-start marker: a piece means the same at a word's start or inside it."""
        tokens = self._tokenizer.encode(text, add_special_tokens=False).tokens
        pieces = (token.replace(_PIECE_MARK, "") for token in tokens)
        return [piece for piece in pieces if any(_in_word(c) for c in piece)]


def _in_word(character: str) -> bool:
    return unicodedata.category(character)[0] in _WORD_CATEGORIES


def _syllables(word: str) -> list[str]:
    """The word's runs in the syllabic scripts cut into syllables (its other runs stay whole): a
    syllable starts at each letter that does not follow a stacker and is not followed by a
    killer (past the marks that may stand before one), and at each digit that does not follow
    a digit; vowel signs, medials and tone marks belong to the letter before them."""
    syllables: list[str] = []
    for run in _SYLLABIC_RUNS.split(word):
        if not _SYLLABIC_RUNS.fullmatch(run):
            syllables += [run] if run else []
            continue
        start = 0
        for i in range(1, len(run)):
            category = unicodedata.category(run[i])[0]
            if category == "N":
                base = unicodedata.category(run[i - 1])[0] != "N"
            else:
                after = i + 1
                while after < len(run) and run[after] in _BEFORE_KILLERS:
                    after += 1
                killed = after < len(run) and run[after] in _KILLERS
                base = category == "L" and run[i - 1] not in _STACKERS and not killed
            if base:
                syllables.append(run[start:i])
                start = i
        syllables.append(run[start:])
    return syllables


def _words(text: str) -> list[str]:
    """Runs of letters, marks and digits; everything else separates words."""
    return "".join(c if _in_word(c) else " " for c in text).split()
