"""CLDR names per locale against English: emoji names (npm `cldr-annotations-full`) and
locale display names (languages, territories, scripts, currencies, months, days) from the
CLDR data shipped in PyPI `babel`.

Short texts, but they reach ~170 (emoji) and ~700 (babel) locales: the breadth that
low-resource languages need.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from models.data.languages import LanguageCodes
from models.data.pairs import ParallelPair

ANNOTATIONS = "cldr-annotations"
LOCALE_NAMES = "cldr-names"


def _tts_names(path: Path) -> dict[str, str]:
    """Emoji -> its spoken name (`tts`), the one phrase-like annotation."""
    data = json.loads(path.read_text(encoding="utf-8"))["annotations"].get("annotations", {})
    return {emoji: entry["tts"][0] for emoji, entry in data.items() if entry.get("tts")}


def annotation_pairs(package_dir: Path, codes: LanguageCodes) -> Iterator[ParallelPair]:
    folder = package_dir / "annotations"
    english = _tts_names(folder / "en" / "annotations.json")
    for locale_dir in sorted(folder.iterdir()):
        tag = codes.normalise(locale_dir.name)
        if tag is None or tag.iso639_3 == "eng":
            continue
        for emoji, name in _tts_names(locale_dir / "annotations.json").items():
            if emoji in english:
                yield ParallelPair(
                    ANNOTATIONS, tag.iso639_3, tag.bcp47, english[emoji], name, emoji
                )


def _import_babel(babel_dir: Path) -> Any:
    """babel from the unpacked pinned wheel (it reads its CLDR pickles next to its code)."""
    if str(babel_dir) not in sys.path:
        sys.path.insert(0, str(babel_dir))
    return importlib.import_module("babel")


def _names(locale: Any) -> dict[str, Mapping[Any, str]]:
    return {
        "language": locale.languages,
        "territory": locale.territories,
        "script": locale.scripts,
        "currency": locale.currencies,
        "month": locale.months["format"]["wide"],
        "day": locale.days["format"]["wide"],
    }


def locale_name_pairs(babel_dir: Path, codes: LanguageCodes) -> Iterator[ParallelPair]:
    babel = _import_babel(babel_dir)
    english = _names(babel.Locale("en"))
    for identifier in sorted(babel.localedata.locale_identifiers()):
        tag = codes.normalise(identifier)
        if tag is None or tag.iso639_3 == "eng":
            continue
        for category, names in _names(babel.Locale.parse(identifier)).items():
            for key, name in names.items():
                if key in english[category]:
                    en = english[category][key]
                    yield ParallelPair(
                        LOCALE_NAMES, tag.iso639_3, tag.bcp47, en, name, f"{category}:{key}"
                    )
