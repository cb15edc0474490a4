"""UDHR paragraphs aligned with English, for bitext retrieval and the multilingual pool.

An article of a translation is aligned when it has as many paragraphs as the English one;
paragraph `k` of article `n` is then the translation of English paragraph `k`: unit `a{n}.{k}`.
The preamble joins in when its paragraph count matches too. A translation is evaluated when
at least `MIN_ALIGNED_SHARE` of the English article paragraphs align (a few translations
split or merge a paragraph or two; dropping those articles keeps the rest usable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexer.udhr import UdhrDeclaration
from models.evaluation.xlmr_languages import seen_in_pretraining

ENGLISH = "eng"
MIN_ALIGNED_SHARE = 0.8


def article_texts(declaration: UdhrDeclaration) -> tuple[list[int], list[str]]:
    """The numbers and texts (heading and paragraphs) of a translation's articles that have
    paragraphs: the article-level passages of the questions, hybrid and grouped tasks."""
    articles = [a for a in declaration.articles if a.paragraphs]
    return [a.number for a in articles], [a.text for a in articles]


# The named low-resource languages of the benchmark, by the udhr package's codes; listed
# first so that any `--languages N` subset covers them.
LOW_RESOURCE_LANGUAGES = (
    "swh", "yor", "hau_NG", "ibo", "amh", "som", "zul", "xho", "nya_chinyanja", "kin", "wol",
    "aka_akuapem", "lin", "lug", "ewe", "quz", "gug", "khm", "lao", "mya", "nep", "sin",
)  # fmt: skip
# Widely spoken languages across scripts, next in line.
MAJOR_LANGUAGES = (
    "fra", "spa", "arb", "cmn_hans", "hin", "rus", "por_BR", "deu_1996", "jpn", "ind", "tur",
    "vie", "ben", "urd", "pes_1", "kor", "tha", "heb", "ell_monotonic", "ukr", "pol",
)  # fmt: skip


@dataclass(frozen=True)
class AlignedText:
    """One translation's paragraphs, in the order of `unit_ids`."""

    code: str
    name: str
    iso639_3: str | None
    unit_ids: tuple[str, ...]
    paragraphs: tuple[str, ...]

    @property
    def seen_in_pretraining(self) -> bool:
        return seen_in_pretraining(self.iso639_3)


def _units(declaration: UdhrDeclaration, english: UdhrDeclaration) -> dict[str, str]:
    units: dict[str, str] = {}
    if len(declaration.preamble) == len(english.preamble):
        units.update({f"pre.{i}": p for i, p in enumerate(declaration.preamble)})
    for article in declaration.articles:
        reference = english.article(article.number)
        if reference is not None and len(reference.paragraphs) == len(article.paragraphs):
            units.update({f"a{article.number}.{i}": p for i, p in enumerate(article.paragraphs)})
    return units


def aligned_texts(declarations: Sequence[UdhrDeclaration]) -> dict[str, AlignedText]:
    """Every translation aligned with English (English included), keyed by udhr code."""
    english = next(d for d in declarations if d.code == ENGLISH)
    article_units = sum(len(a.paragraphs) for a in english.articles)
    aligned: dict[str, AlignedText] = {}
    for declaration in declarations:
        units = _units(declaration, english)
        if sum(u.startswith("a") for u in units) < MIN_ALIGNED_SHARE * article_units:
            continue
        aligned[declaration.code] = AlignedText(
            code=declaration.code,
            name=declaration.name,
            iso639_3=declaration.iso639_3,
            unit_ids=tuple(units),
            paragraphs=tuple(units.values()),
        )
    return aligned


def evaluation_order(codes: Sequence[str]) -> list[str]:
    """Languages to evaluate (English excluded): the named low-resource ones, then major
    languages, then the rest by code (numbered sample translations last), so that a subset of
    the first N is meaningful."""
    present = [c for c in codes if c != ENGLISH]
    ranked = [c for c in (*LOW_RESOURCE_LANGUAGES, *MAJOR_LANGUAGES) if c in present]
    rest = sorted(set(present) - set(ranked), key=lambda c: (c[0].isdigit(), c))
    return ranked + rest
