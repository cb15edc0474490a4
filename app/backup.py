"""Consistent backups of the embedded store while the service keeps running.

qdrant-edge appends every update to its write-ahead log before the call returns and replays the
log on load, so the files of a data directory hold every acknowledged write, but only if no
write (nor the optimizer it drives) is changing them while they are copied. `GatedStore`
wraps the store so that writes pass a gate shared among writers; `snapshot` closes the gate
(waiting for writes in flight, holding new ones back; reads go on), copies the directory and
opens the gate again. Restoring is unpacking the copy into a new data directory.
"""

from __future__ import annotations

import shutil
import tarfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from app.store.base import Filter, Point, ReadThroughStore, VectorStore

LOCK_FILE = ".lock"  # the store's own process lock: not part of a backup


class WriteGate:
    """Many writers at once, or one snapshot, never both (a writer-preferring RW lock would
    starve snapshots; here a waiting snapshot holds back new writers)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._writers = 0
        self._closed = False

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._closed)
            self._writers += 1
        try:
            yield
        finally:
            with self._cond:
                self._writers -= 1
                self._cond.notify_all()

    @contextmanager
    def closed(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._closed)
            self._closed = True
            self._cond.wait_for(lambda: self._writers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()


class GatedStore(ReadThroughStore):
    """A VectorStore whose writes pass a `WriteGate`; reads go straight through."""

    def __init__(self, store: VectorStore, data_dir: Path | None) -> None:
        super().__init__(store)
        self.data_dir = data_dir  # None: not an embedded store, nothing to copy
        self.gate = WriteGate()
        self._backup = threading.Lock()

    @contextmanager
    def backing_up(self) -> Iterator[None]:
        """One backup at a time (each copies the whole store): BackupInProgressError at once,
        rather than waiting, while another runs."""
        if not self._backup.acquire(blocking=False):
            raise BackupInProgressError("a backup is already running: retry when it has ended")
        try:
            yield
        finally:
            self._backup.release()

    def create_collection(self, name: str, dim: int, encoder: str | None = None) -> None:
        with self.gate.writing():
            self.inner.create_collection(name, dim, encoder)

    def delete_collection(self, name: str) -> None:
        with self.gate.writing():
            self.inner.delete_collection(name)

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        with self.gate.writing():
            self.inner.upsert(collection, points)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        with self.gate.writing():
            self.inner.delete(collection, ids)

    def delete_where(self, collection: str, where: Filter) -> None:
        with self.gate.writing():
            self.inner.delete_where(collection, where)

    def close(self) -> None:
        with self.gate.writing():
            self.inner.close()

    def snapshot(self, destination: Path) -> None:
        """Copy the data directory to `destination` (which must not exist) with writes held."""
        if self.data_dir is None:
            raise BackupUnsupportedError("backups cover the embedded store; use Qdrant snapshots")
        with self.gate.closed():
            shutil.copytree(self.data_dir, destination, ignore=shutil.ignore_patterns(LOCK_FILE))


class BackupUnsupportedError(RuntimeError):
    """The store is a Qdrant server: back it up with Qdrant's own snapshots."""


class BackupInProgressError(RuntimeError):
    """Another backup of this store is running."""


def write_archive(directory: Path, archive: Path) -> None:
    """A tar of `directory`'s contents (names relative to it): `tar -xf` into a new data dir."""
    with tarfile.open(archive, "w") as tar:
        for child in sorted(directory.iterdir()):
            tar.add(child, arcname=child.name)


def restore_archive(archive: Path, data_dir: Path) -> None:
    """Unpack a backup into a new, empty data directory (never over a live one)."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise FileExistsError(f"{data_dir} is not empty: restore into a new directory")
    with _open_backup(archive) as tar:
        data_dir.mkdir(parents=True, exist_ok=True)  # only once the archive opens
        tar.extractall(data_dir, filter="data")


def _open_backup(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive)
    except tarfile.ReadError:  # its own message lists every compression it tried
        raise tarfile.ReadError(
            f"{archive} is not a backup archive (the tar file POST /v1/admin/backup answers)"
        ) from None
