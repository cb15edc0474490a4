"""Before the model is loaded, or when it cannot be, the service says so with 503."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.metrics import Metrics
from app.runtime import Runtime, State
from app.settings import Settings
from tests.conftest import _free_port, serve_in_thread


def test_missing_model_gives_503_and_logs_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(models_dir=tmp_path / "none", data_dir=tmp_path / "store")
    app = create_app(settings)
    for url in serve_in_thread(app, _free_port()):
        app.state.runtime.wait(30)
        with httpx.Client(base_url=url) as client:
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503
            detail = ready.json()["detail"]
            assert detail == "the service failed to start (see the log)"
            assert "no model card" in caplog.text  # the reason, with its path, is logged
            assert str(tmp_path) not in ready.text
            search = client.post("/v1/search", json={"query": "hello"})
            assert search.status_code == 503
            assert search.headers["retry-after"] == "5"
            assert search.json()["error"]["code"] == "not_ready"
            assert str(tmp_path) not in search.text


def test_loading_moves_start_up_objects_out_of_the_collectors_reach(
    model_dir: Path, tmp_path: Path
) -> None:
    """A full garbage collection must not walk the loaded service's objects inside a request
    (92 ms on 2 cores as loaded): loading ends with `gc.freeze`."""
    gc.unfreeze()
    settings = Settings(
        models_dir=model_dir.parent, model=model_dir.name, data_dir=tmp_path / "store"
    )
    runtime = Runtime(settings, Metrics())
    try:
        runtime.start()
        assert runtime.wait(120) == State.READY
        assert gc.get_freeze_count() > 10_000
    finally:
        runtime.close()
        gc.unfreeze()
