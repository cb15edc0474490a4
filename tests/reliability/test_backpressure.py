"""The bounded encoder queue: refuse at once when full, time out waiting, 503 over HTTP, and
the load command (short run) showing the service holds and recovers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.encode_queue import EncodeQueue, OverloadedError
from app.encoder import OnnxEncoder
from app.settings import Settings
from tests.conftest import ROOT
from tests.reliability.conftest import serve_app


def _blocked_jobs(
    queue: EncodeQueue, count: int, release: threading.Event
) -> list[threading.Thread]:
    threads = [threading.Thread(target=queue.run, args=(release.wait,)) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while queue.depth < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.depth == count
    return threads


def test_full_queue_refuses_at_once_and_drains() -> None:
    queue = EncodeQueue(concurrency=1, capacity=2, wait_timeout_s=30)
    release = threading.Event()
    threads = _blocked_jobs(queue, 3, release)  # one running, two waiting
    start = time.perf_counter()
    with pytest.raises(OverloadedError) as refused:
        queue.run(lambda: None)
    assert time.perf_counter() - start < 0.5
    assert refused.value.retry_after_s >= 1
    release.set()
    for thread in threads:
        thread.join(5)
    assert queue.depth == 0
    assert queue.run(lambda: 42) == 42


def test_waiting_longer_than_the_timeout_is_refused() -> None:
    queue = EncodeQueue(concurrency=1, capacity=4, wait_timeout_s=0.2)
    release = threading.Event()
    threads = _blocked_jobs(queue, 1, release)
    start = time.perf_counter()
    with pytest.raises(OverloadedError):
        queue.run(lambda: None)
    assert 0.15 < time.perf_counter() - start < 2
    release.set()
    threads[0].join(5)
    assert queue.depth == 0


def test_overload_over_http_is_503_with_retry_after(tmp_path: Path, encoder: OnnxEncoder) -> None:
    queue = EncodeQueue(concurrency=1, capacity=2, wait_timeout_s=20)
    texts = [f"passage number {i} about the right to work and rest" for i in range(48)]
    for app in serve_app(tmp_path / "qdrant", encoder, Settings(), queue):
        with httpx.Client(base_url=app.url, timeout=60) as client:

            def embed(_: int) -> httpx.Response:
                return client.post("/v1/embed", json={"texts": texts, "kind": "passage"})

            with ThreadPoolExecutor(16) as pool:
                responses = list(pool.map(embed, range(16)))
            statuses = [r.status_code for r in responses]
            assert set(statuses) == {200, 503}, statuses
            for refused in (r for r in responses if r.status_code == 503):
                assert refused.json()["error"]["code"] == "overloaded"
                assert int(refused.headers["retry-after"]) >= 1
            assert queue.depth == 0
            assert embed(0).status_code == 200  # recovered


def test_load_command_holds_at_4x_and_recovers(tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "load.json"
    command = [
        sys.executable, "-m", "tests.reliability.load", "--calibrate", "2", "--duration", "4",
        "--recover", "2", "--json", str(out),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    assert results["checks"] == dict.fromkeys(results["checks"], True)
    assert results["offered_rate_per_s"] >= 3.9 * results["sustainable_rate_per_s"]
