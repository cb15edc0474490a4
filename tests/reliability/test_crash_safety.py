"""Crash safety: the indexer SIGKILLed and rerun ends with exactly one point per chunk; the
service killed (SIGKILL) or stopped (SIGTERM) keeps every acknowledged write; SIGTERM lets
in-flight requests finish."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.documents.chunking import chunk_text
from app.documents.ids import point_id
from app.documents.record import Record
from app.encoder import OnnxEncoder
from app.store.base import Filter
from app.store.edge import QdrantEdgeStore
from tests.conftest import ROOT
from tests.reliability.service_process import ServiceProcess, start_service

COLLECTION = "crash"
CHUNK_TOKENS = 24
OVERLAP_TOKENS = 4
SENTENCES = (
    "Everyone has the right to life, liberty and security of person.",
    "Kila mtu ana haki ya kupumzika na kustarehe.",
    "Toute personne a droit à l'éducation.",
    "Никто не должен содержаться в рабстве или подневольном состоянии.",
    "人人有权享有生命、自由和人身安全。",
    "لكل فرد الحق في حرية التفكير والضمير والدين.",
)


def _records(count: int) -> list[Record]:
    rng = random.Random(count)
    return [
        Record(id=f"doc-{i:03d}", text=" ".join(rng.choices(SENTENCES, k=3)), lang="mul")
        for i in range(count)
    ]


def _expected_ids(records: list[Record], encoder: OnnxEncoder) -> set[str]:
    return {
        point_id(COLLECTION, r.id, chunk.index)
        for r in records
        for chunk in chunk_text(r.text, encoder.tokenizer, CHUNK_TOKENS, OVERLAP_TOKENS)
    }


def _indexer(source: Path, data_dir: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "indexer", str(source), "--collection", COLLECTION, "--quiet",
        "--batch-size", "8", "--chunk-tokens", str(CHUNK_TOKENS),
        "--overlap-tokens", str(OVERLAP_TOKENS),
    ]  # fmt: skip
    env = {**os.environ, "POLYSEARCH_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _stored(data_dir: Path) -> dict[str, dict[str, object]]:
    store = QdrantEdgeStore(data_dir)
    try:
        hits = store.find(COLLECTION, Filter(), limit=100_000)
        assert store.count(COLLECTION) == len(hits)
        return {h.id: h.payload for h in hits}
    finally:
        store.close()


def test_indexer_killed_at_a_random_point_and_rerun_has_one_point_per_chunk(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    records = _records(24)
    source = tmp_path / "docs.jsonl"
    source.write_text(
        "".join(json.dumps(r.model_dump(), ensure_ascii=False) + "\n" for r in records),
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"
    seed = int(os.environ.get("POLYSEARCH_CRASH_SEED", time.time_ns() % 10_000))
    delay = random.Random(seed).uniform(1.0, 5.0)
    first = _indexer(source, data_dir)
    try:
        first.wait(delay)
    except subprocess.TimeoutExpired:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed = first.returncode == -signal.SIGKILL
    print(f"seed {seed}: SIGKILL after {delay:.2f} s, killed mid-run: {killed}")

    second = _indexer(source, data_dir)
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    expected = _expected_ids(records, encoder)
    stored = _stored(data_dir)
    assert set(stored) == expected  # exactly one point per chunk: no missing, no extra
    by_doc: dict[object, list[object]] = {}
    for payload in stored.values():
        by_doc.setdefault(payload["doc_id"], []).append(payload["chunk"])
    assert all(sorted(c) == list(range(len(c))) for c in by_doc.values())  # type: ignore[arg-type]

    third = _indexer(source, data_dir)
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0, output
    assert "indexed 0, unchanged 24" in output
    assert _stored(data_dir) == stored  # a rerun of a finished job changes nothing


def _write_until_stopped(
    service: ServiceProcess, acknowledged: list[str], stop: threading.Event
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        i = 0
        while not stop.is_set():
            doc_id = f"ack-{i}"
            document = {"id": doc_id, "text": f"acknowledged write number {i}", "lang": "en"}
            try:
                response = client.post(
                    f"/v1/collections/{COLLECTION}/documents", json={"documents": [document]}
                )
            except httpx.TransportError:
                return  # the service went away mid-request: not acknowledged
            if response.status_code == 200:
                acknowledged.append(doc_id)
            i += 1


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_service_keeps_every_acknowledged_write(
    tmp_path: Path, model_dir: Path, sig: signal.Signals
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "service.log"
    service = start_service(data_dir, log)
    service.wait_ready()
    acknowledged: list[str] = []
    stop = threading.Event()
    writers = [
        threading.Thread(target=_write_until_stopped, args=(service, acknowledged, stop))
        for _ in range(3)
    ]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    service.stop(sig)  # while the writers are still writing
    stop.set()
    for writer in writers:
        writer.join(30)
    assert len(acknowledged) >= 10

    restarted = start_service(data_dir, log)
    try:
        restarted.wait_ready()
        with httpx.Client(base_url=restarted.url, timeout=30) as client:
            for doc_id in acknowledged:
                found = client.get(f"/v1/collections/{COLLECTION}/documents/{doc_id}")
                assert found.status_code == 200, doc_id
    finally:
        restarted.stop()


def test_sigterm_drains_in_flight_requests(tmp_path: Path, model_dir: Path) -> None:
    service = start_service(tmp_path / "data", tmp_path / "service.log")
    service.wait_ready()
    # ~100 tokens each: a few seconds of encoding on 2 idle cores, well inside uvicorn's
    # 10 s graceful-shutdown window, and long enough to still be in flight after 0.5 s.
    sentence = "a passage to embed while the service is asked to stop, number {i}. "
    texts = [(sentence * 6).format(i=i) for i in range(64)]
    result: dict[str, httpx.Response] = {}

    def slow_request() -> None:
        result["response"] = httpx.post(
            f"{service.url}/v1/embed", json={"texts": texts, "kind": "passage"}, timeout=60
        )

    request = threading.Thread(target=slow_request)
    request.start()
    time.sleep(0.5)  # in flight: 64 passages take a few seconds to encode
    assert request.is_alive()
    # uvicorn re-raises the signal once it has drained: exit status -15 is a clean stop.
    assert service.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    request.join(30)
    response = result["response"]
    assert response.status_code == 200
    assert len(response.json()["embeddings"]) == len(texts)
    with pytest.raises(httpx.TransportError):  # and it is gone
        httpx.get(f"{service.url}/healthz", timeout=2)
