"""Locale codes of the sources (`fr_CA`, `zh-Hant`, `sr@latin`, `ast`) -> ISO 639-3 + BCP-47.

The ISO 639-3 table comes from pycountry's database (a pinned package, read as JSON, not
imported). Two-letter codes map to their three-letter code, which for macrolanguages is the
macrolanguage (`zh` -> `zho`, `sw` -> `swa`): the sources do not say which member they hold.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from indexer.registry import DEFAULT_CACHE
from models.data.packages import PYCOUNTRY, pypi_package

_GETTEXT_SCRIPTS = {"latin": "Latn", "cyrillic": "Cyrl"}


@dataclass(frozen=True)
class LanguageTag:
    iso639_3: str
    bcp47: str


class LanguageCodes:
    """Maps the codes found in locale folders and CLDR file names to one canonical form."""

    def __init__(self, iso639_3_json: Path) -> None:
        entries = json.loads(iso639_3_json.read_text(encoding="utf-8"))["639-3"]
        self.by_alpha_2 = {e["alpha_2"]: e["alpha_3"] for e in entries if "alpha_2" in e}
        self.alpha_3 = {e["alpha_3"] for e in entries}
        self.names = {e["alpha_3"]: e["name"] for e in entries}

    def normalise(self, code: str) -> LanguageTag | None:
        """None when the language subtag is not an ISO 639 language (`root`, `und`)."""
        code, _, modifier = code.partition("@")
        parts = [p for p in re.split(r"[-_]", code.strip()) if p]
        if not parts:
            return None
        language = parts[0].lower()
        iso = self.by_alpha_2.get(language) if len(language) == 2 else language
        if iso is None or iso not in self.alpha_3 or iso == "und":
            return None
        subtags = [language]
        for part in parts[1:]:
            if len(part) == 4 and part.isalpha():
                subtags.append(part.title())
            elif len(part) == 2 or (len(part) == 3 and part.isdigit()):
                subtags.append(part.upper())
            else:
                subtags.append(part.lower())
        if modifier.lower() in _GETTEXT_SCRIPTS:
            subtags.insert(1, _GETTEXT_SCRIPTS[modifier.lower()])
        return LanguageTag(iso, "-".join(subtags))

    def name(self, iso639_3: str) -> str:
        return str(self.names.get(iso639_3, iso639_3))


@cache
def language_codes(cache_dir: Path = DEFAULT_CACHE) -> LanguageCodes:
    root = pypi_package(PYCOUNTRY, cache_dir)
    return LanguageCodes(root / "pycountry" / "databases" / "iso639-3.json")
