"""Fixtures for the reliability suite: servers with their own stores, and `python -m app`
run as a real process (so that it can be killed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.backup import GatedStore
from app.encode_queue import EncodeQueue
from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from tests.conftest import _free_port, serve_in_thread
from tests.reliability.service_process import ServiceProcess, start_service

READ_KEY = "read-key-9f3b2a71c4"
WRITE_KEY = "write-key-5e8d0c62ab"


@dataclass
class LiveApp:
    url: str
    store: GatedStore
    data_dir: Path


def serve_app(
    data_dir: Path,
    encoder: OnnxEncoder,
    settings: Settings,
    queue: EncodeQueue | None = None,
) -> Iterator[LiveApp]:
    """The real app over loopback HTTP, backed by an embedded store in `data_dir`."""
    store = GatedStore(QdrantEdgeStore(data_dir), data_dir)
    service = SearchService(encoder, store, Metrics(), queue)
    try:
        for url in serve_in_thread(create_app(settings, service), _free_port()):
            yield LiveApp(url, store, data_dir)
    finally:
        store.close()


@pytest.fixture(scope="module")
def open_app(tmp_path_factory: pytest.TempPathFactory, encoder: OnnxEncoder) -> Iterator[LiveApp]:
    """No keys: open, as on loopback by default."""
    yield from serve_app(tmp_path_factory.mktemp("open") / "qdrant", encoder, Settings())


@pytest.fixture(scope="module")
def keyed_app(tmp_path_factory: pytest.TempPathFactory, encoder: OnnxEncoder) -> Iterator[LiveApp]:
    settings = Settings(api_keys_read=SecretStr(READ_KEY), api_keys_write=SecretStr(WRITE_KEY))
    yield from serve_app(tmp_path_factory.mktemp("keyed") / "qdrant", encoder, settings)


@pytest.fixture
def service_process(tmp_path: Path, model_dir: Path) -> Iterator[ServiceProcess]:
    """A ready `python -m app` over a fresh data dir; killed at the end if still running."""
    service = start_service(tmp_path / "data", tmp_path / "service.log")
    try:
        service.wait_ready()
        yield service
    finally:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(10)
