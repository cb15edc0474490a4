"""A parallel pair, its de-duplication and its JSONL form."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ParallelPair:
    """One English text and its translation into `iso639_3` (BCP-47 tag `bcp47`)."""

    source: str  # loader name, e.g. "quran", "cldr-annotations"
    iso639_3: str
    bcp47: str
    en: str
    xx: str
    ref: str = ""  # where in the source: verse, message id, CLDR key


def clean_text(text: str) -> str:
    """NFC and single spaces: the form pairs are compared and stored in."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def deduplicate(pairs: Iterable[ParallelPair]) -> Iterator[ParallelPair]:
    """Drop empty and untranslated pairs (xx == en) and repeats of (language, en, xx), so
    regional locales (fr, fr-CA, fr-BE) sharing a translation count it once."""
    seen: set[tuple[str, str, str]] = set()
    for pair in pairs:
        en, xx = clean_text(pair.en), clean_text(pair.xx)
        if not en or not xx or en.casefold() == xx.casefold():
            continue
        key = (pair.iso639_3, en, xx)
        if key in seen:
            continue
        seen.add(key)
        yield ParallelPair(pair.source, pair.iso639_3, pair.bcp47, en, xx, pair.ref)


def write_jsonl(pairs: Iterable[ParallelPair], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
            count += 1
    partial.replace(path)
    return count


def read_jsonl(path: Path) -> list[ParallelPair]:
    with path.open(encoding="utf-8") as lines:
        return [ParallelPair(**json.loads(line)) for line in lines if line.strip()]
