"""npm `quran-json`: the Arabic text with ten translations, verse-aligned (6,236 verses).

`dist/quran_en.json` holds chapters whose verses carry the Arabic `text` and the English
`translation`; `dist/quran_LANG.json` holds the same verses translated into LANG.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.data.languages import LanguageCodes
from models.data.pairs import ParallelPair

SOURCE = "quran"
TRANSLATIONS = ("bn", "es", "fr", "id", "ru", "sv", "tr", "ur", "zh")


def read_verses(path: Path, field: str) -> dict[str, str]:
    chapters: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return {
        f"{chapter['id']}:{verse['id']}": verse[field]
        for chapter in chapters
        for verse in chapter["verses"]
    }


def quran_texts(package_dir: Path) -> dict[str, dict[str, str]]:
    """Language code (as the package names it) -> verse ref ("2:255") -> text."""
    dist = package_dir / "dist"
    texts = {"en": read_verses(dist / "quran_en.json", "translation")}
    texts["ar"] = read_verses(dist / "quran_en.json", "text")
    for lang in TRANSLATIONS:
        texts[lang] = read_verses(dist / f"quran_{lang}.json", "translation")
    return texts


def quran_pairs(package_dir: Path, codes: LanguageCodes) -> Iterator[ParallelPair]:
    others = quran_texts(package_dir)
    english = others.pop("en")
    for lang, verses in others.items():
        tag = codes.normalise(lang)
        assert tag is not None, lang
        for ref, text in verses.items():
            if ref in english:
                yield ParallelPair(SOURCE, tag.iso639_3, tag.bcp47, english[ref], text, ref)
