"""Crash safety: the indexer SIGKILLed and rerun ends with exactly one point per chunk; the
service killed (SIGKILL) or stopped (SIGTERM) keeps every acknowledged write; SIGTERM lets
in-flight requests finish."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import cast

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
DOCUMENTS = 64
BATCH_SIZE = 8  # 8 batches: a kill after the first leaves most of the job undone
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
        Record(id=f"doc-{i:03d}", text=" ".join(rng.choices(SENTENCES, k=3)), language="mul")
        for i in range(count)
    ]


def _expected_ids(records: list[Record], encoder: OnnxEncoder) -> set[str]:
    return {
        point_id(COLLECTION, r.id, chunk.index)
        for r in records
        for chunk in chunk_text(r.text, encoder.tokenizer, CHUNK_TOKENS, OVERLAP_TOKENS)
    }


def _indexer(source: Path, data_dir: Path, *, quiet: bool = True) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "indexer", str(source), "--collection", COLLECTION,
        "--batch-size", str(BATCH_SIZE), "--chunk-tokens", str(CHUNK_TOKENS),
        "--overlap-tokens", str(OVERLAP_TOKENS), *(["--quiet"] if quiet else []),
    ]  # fmt: skip
    env = {**os.environ, "POLYSEARCH_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _kill_after_first_batch(indexer: subprocess.Popen[str]) -> str:
    """SIGKILL as soon as the progress bar reports the first batch written (the writer updates
    it after the batch's upsert and deletes), so that the crash lands between batches' work;
    the output read until then."""
    assert indexer.stdout is not None
    seen = ""
    written = re.compile(r"indexed=([1-9][0-9]*)")
    while indexer.poll() is None:
        seen += indexer.stdout.read(1)
        if written.search(seen):
            indexer.send_signal(signal.SIGKILL)
            break
    indexer.wait(10)
    return seen


def _stored(data_dir: Path) -> dict[str, dict[str, object]]:
    store = QdrantEdgeStore(data_dir)
    try:
        hits = store.find(COLLECTION, Filter(), limit=100_000)
        assert store.count(COLLECTION) == len(hits)
        return {h.id: h.payload for h in hits}
    finally:
        store.close()


def test_indexer_killed_mid_run_and_rerun_has_one_point_per_chunk(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    records = _records(DOCUMENTS)
    source = tmp_path / "docs.jsonl"
    source.write_text(
        "".join(json.dumps(r.model_dump(), ensure_ascii=False) + "\n" for r in records),
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"
    expected = _expected_ids(records, encoder)
    first = _indexer(source, data_dir, quiet=False)
    output = _kill_after_first_batch(first)
    assert first.returncode == -signal.SIGKILL, output  # the crash landed mid-run
    partial = _stored(data_dir)
    assert 0 < len(partial) < len(expected), (len(partial), len(expected))
    assert set(partial) <= expected

    second = _indexer(source, data_dir)
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    stored = _stored(data_dir)
    assert set(stored) == expected  # exactly one point per chunk: no missing, no extra
    by_doc: dict[object, list[int]] = {}
    for payload in stored.values():
        by_doc.setdefault(payload["doc_id"], []).append(cast(int, payload["chunk"]))
    assert all(sorted(c) == list(range(len(c))) for c in by_doc.values())

    third = _indexer(source, data_dir)
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0, output
    assert f"indexed 0, unchanged {DOCUMENTS}" in output
    assert _stored(data_dir) == stored  # a rerun of a finished job changes nothing


def _write_until_stopped(
    service: ServiceProcess, acknowledged: list[str], stop: threading.Event
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        i = 0
        while not stop.is_set():
            doc_id = f"ack-{i}"
            document = {"id": doc_id, "text": f"acknowledged write number {i}", "language": "en"}
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
