"""gettext `.mo` catalogues whose msgid is English: pycountry's ISO names (countries,
languages, currencies, scripts, subdivisions) and Django's UI strings, ~100-160 locales each.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from models.data.languages import LanguageCodes
from models.data.pairs import ParallelPair

PYCOUNTRY_SOURCE = "pycountry-gettext"
DJANGO_SOURCE = "django-gettext"
_MAGIC_LE = 0x950412DE
_CONTEXT = "\x04"  # msgctxt EOT msgid
_PLURAL = "\x00"  # singular NUL plural


def read_mo(path: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) of a compiled catalogue: singular forms, contexts dropped (so a msgid
    may come twice: `April` and `April` in context `alt. month`), the header left out."""
    data = path.read_bytes()
    order = "<" if struct.unpack("<I", data[:4])[0] == _MAGIC_LE else ">"
    _, count, ids_at, strs_at = struct.unpack(f"{order}4I", data[4:20])
    messages: list[tuple[str, str]] = []
    for index in range(count):
        id_len, id_at = struct.unpack(
            f"{order}2I", data[ids_at + 8 * index : ids_at + 8 * index + 8]
        )
        str_len, str_at = struct.unpack(
            f"{order}2I", data[strs_at + 8 * index : strs_at + 8 * index + 8]
        )
        msgid = data[id_at : id_at + id_len].decode("utf-8", errors="replace")
        msgstr = data[str_at : str_at + str_len].decode("utf-8", errors="replace")
        msgid = msgid.rpartition(_CONTEXT)[2].partition(_PLURAL)[0]
        if msgid:
            messages.append((msgid, msgstr.partition(_PLURAL)[0]))
    return messages


def _catalogue_pairs(
    catalogues: Iterator[tuple[str, Path]], source: str, codes: LanguageCodes
) -> Iterator[ParallelPair]:
    for locale, path in catalogues:
        tag = codes.normalise(locale)
        if tag is None or tag.iso639_3 == "eng":
            continue
        for msgid, msgstr in read_mo(path):
            yield ParallelPair(source, tag.iso639_3, tag.bcp47, msgid, msgstr, path.stem)


def pycountry_pairs(pycountry_dir: Path, codes: LanguageCodes) -> Iterator[ParallelPair]:
    locales = pycountry_dir / "pycountry" / "locales"
    catalogues = (
        (path.parents[1].name, path) for path in sorted(locales.glob("*/LC_MESSAGES/*.mo"))
    )
    return _catalogue_pairs(catalogues, PYCOUNTRY_SOURCE, codes)


def django_pairs(django_dir: Path, codes: LanguageCodes) -> Iterator[ParallelPair]:
    catalogues = (
        (path.parents[1].name, path)
        for path in sorted((django_dir / "django").glob("**/locale/*/LC_MESSAGES/*.mo"))
    )
    return _catalogue_pairs(catalogues, DJANGO_SOURCE, codes)
