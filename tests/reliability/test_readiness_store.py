"""`/readyz` reflects the store as well as the model: a store that does not answer is 503."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.factory import open_store
from tests.conftest import _free_port, serve_in_thread
from tests.reliability.conftest import LiveApp


def test_ready_when_model_and_store_answer(open_app: LiveApp) -> None:
    assert httpx.get(f"{open_app.url}/readyz").json() == {"status": "ok", "detail": None}


@pytest.mark.filterwarnings("ignore:Failed to obtain server version")
def test_unreachable_qdrant_server_is_not_ready(
    encoder: OnnxEncoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    settings = Settings(qdrant_url=nowhere, data_dir=tmp_path)
    service = SearchService(encoder, open_store(settings), Metrics())
    for url in serve_in_thread(create_app(settings, service), _free_port()):
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        body = ready.json()
        assert body == {
            "status": "error",
            "detail": "the vector store does not answer (see the log)",
        }
        assert nowhere.removeprefix("http://") not in ready.text  # no host, port or path
        assert "readiness check" in caplog.text  # the exception goes to the log
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive, just not ready


def test_a_closed_store_is_not_ready(
    encoder: OnnxEncoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "store")
    store = open_store(settings)
    service = SearchService(encoder, store, Metrics())
    for url in serve_in_thread(create_app(settings, service), _free_port()):
        assert httpx.get(f"{url}/readyz").status_code == 200
        store.close()
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert str(tmp_path) not in ready.text
        assert "is closed" in caplog.text
