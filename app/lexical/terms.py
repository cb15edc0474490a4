"""Terms for lexical matching that hold for every language: no stemming, no stop words.

Text is NFKC-normalised and case-folded, then cut into words at every character that is not a
letter, mark or digit. Scripts written without spaces between words (Thai, Lao, Khmer,
Chinese, Japanese, Yi) give no words that way, so their runs are cut into the encoder's own
subword pieces instead: its tokenizer covers every script the model knows, and a piece of a
Thai or Chinese word is as much a term as a word of Swahili. Two scripts are cut into syllables
instead, as Chinese is into characters, because the tokenizer knows them (or, for Myanmar,
its languages other than Burmese) only letter by letter, and single letters match everything:
Tibetan ends each syllable with a tsheg `་` (punctuation, so a cut here); Myanmar script
(Burmese, Shan, Mon, the Karen languages) starts a syllable at each letter that is neither
stacked under the one before nor killed by an asat.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from tokenizers import Tokenizer

TermScheme = Literal["words", "subwords"]
TERM_SCHEMES: tuple[TermScheme, ...] = ("words", "subwords")

_WORD_CATEGORIES = frozenset("LMN")  # letters, marks and digits of any script
# Bumped whenever the rules below change: the writer hashes it into each document's fingerprint,
# so re-indexing refreshes the stored terms (app/documents/writer.py).
TERM_RULES = "t3"
# Scripts without spaces between words: Thai, Lao, Khmer, CJK (Kana, Han, Hangul is spaced and
# not listed: CJK compatibility ideographs, extension A and the supplementary planes'
# extensions), Yi.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1780-\u17ff\u19e0-\u19ff"
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)
_PIECE_MARK = "\u2581"  # SentencePiece's word-start marker
# Myanmar script and its extensions (A: Shan, Khamti, Aiton; B: Shan, Pa'O, Tai Laing).
_MYANMAR_RUNS = re.compile("([\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f]+)")
_MYANMAR_ASAT = "\u103a"  # kills the letter before it: a syllable's final consonant
_MYANMAR_STACKER = "\u1039"  # stacks the next letter under this one, in one syllable
_MYANMAR_DOT_BELOW = "\u1037"  # a tone mark that text may put before the asat


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
            if _MYANMAR_RUNS.search(word):
                terms += _myanmar_syllables(word)
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


def _myanmar_syllables(word: str) -> list[str]:
    """The word's Myanmar-script runs cut into syllables (its other runs stay whole): a syllable
    starts at each letter or digit that does not follow a stacker and is not followed by an
    asat or a stacker (past a dot below); vowel signs, medials and tone marks belong to the
    letter before them."""
    syllables: list[str] = []
    for run in _MYANMAR_RUNS.split(word):
        if not _MYANMAR_RUNS.fullmatch(run):
            syllables += [run] if run else []
            continue
        start = 0
        for i in range(1, len(run)):
            base = unicodedata.category(run[i])[0] in "LN"
            stacked = run[i - 1] == _MYANMAR_STACKER
            after = i + 1
            while after < len(run) and run[after] == _MYANMAR_DOT_BELOW:
                after += 1
            killed = after < len(run) and run[after] in (_MYANMAR_ASAT, _MYANMAR_STACKER)
            if base and not stacked and not killed:
                syllables.append(run[start:i])
                start = i
        syllables.append(run[start:])
    return syllables


def _words(text: str) -> list[str]:
    """Runs of letters, marks and digits; everything else separates words."""
    return "".join(c if _in_word(c) else " " for c in text).split()
