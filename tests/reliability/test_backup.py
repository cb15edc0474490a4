"""Backup of the embedded store while the service runs (and writes), restore into a new data
directory with `python -m app restore`, same search results."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient

from app.backup import GatedStore
from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.base import Filter
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore
from tests.conftest import ROOT, _free_port, serve_in_thread
from tests.reliability.conftest import serve_app

COLLECTION = "kept"
TEXTS = (
    "Everyone has the right to freedom of thought, conscience and religion.",
    "Kila mtu ana haki ya kupata elimu.",
    "Toute personne a droit au repos et aux loisirs.",
    "Никто не может подвергаться произвольному аресту.",
    "人人有权享有生命、自由和人身安全。",
    "Jeder hat das Recht auf Arbeit.",
)
QUERIES = ("religion", "education", "rest and leisure", "arrest", "liberty", "work")


def _restore(archive: Path, data_dir: Path) -> None:
    command = [sys.executable, "-m", "app", "restore", str(archive), str(data_dir)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=60)


def _results(client: httpx.Client) -> list[list[tuple[str, float]]]:
    answers = []
    for query in QUERIES:
        body = {"query": query, "collection": COLLECTION, "top_k": 3}
        results = client.post("/v1/search", json=body).json()["results"]
        answers.append([(r["id"], round(r["score"], 5)) for r in results])
    return answers


def test_backup_while_serving_restores_to_the_same_results(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    for app in serve_app(tmp_path / "live", encoder, Settings()):
        with httpx.Client(base_url=app.url, timeout=60) as client:
            documents = [{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)]
            upsert = client.post(
                f"/v1/collections/{COLLECTION}/documents", json={"documents": documents}
            )
            upsert.raise_for_status()
            client.delete(f"/v1/collections/{COLLECTION}/documents/d5").raise_for_status()
            live = _results(client)
            backup = client.post("/v1/admin/backup")
            assert backup.status_code == 200
            assert backup.headers["content-type"] == "application/x-tar"
            assert _results(client) == live  # the service goes on serving
    archive = tmp_path / "backup.tar"
    archive.write_bytes(backup.content)
    _restore(archive, tmp_path / "restored")
    for app in serve_app(tmp_path / "restored", encoder, Settings()):
        with httpx.Client(base_url=app.url, timeout=60) as client:
            assert _results(client) == live
            deleted = client.get(f"/v1/collections/{COLLECTION}/documents/d5")
            assert deleted.status_code == 404


def test_backup_taken_during_writes_is_consistent(tmp_path: Path, encoder: OnnxEncoder) -> None:
    """Writes go on during the backup: the copy holds whole documents, a count between the
    counts before and after, and opens like any data directory."""
    stop = threading.Event()
    for app in serve_app(tmp_path / "live", encoder, Settings()):

        def write(url: str) -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                i = 0
                while not stop.is_set():
                    document = {"id": f"w{i}", "text": f"{TEXTS[i % len(TEXTS)]} ({i})"}
                    client.post(
                        f"/v1/collections/{COLLECTION}/documents", json={"documents": [document]}
                    ).raise_for_status()
                    i += 1

        with httpx.Client(base_url=app.url, timeout=60) as client:
            seed = {"documents": [{"id": "seed", "text": TEXTS[0]}]}
            client.post(f"/v1/collections/{COLLECTION}/documents", json=seed).raise_for_status()
            writer = threading.Thread(target=write, args=(app.url,))
            writer.start()
            try:
                before = app.store.count(COLLECTION)
                backup = client.post("/v1/admin/backup")
                after = app.store.count(COLLECTION)
            finally:
                stop.set()
                writer.join(60)
        assert backup.status_code == 200
    archive = tmp_path / "backup.tar"
    archive.write_bytes(backup.content)
    _restore(archive, tmp_path / "restored")
    restored = QdrantEdgeStore(tmp_path / "restored")
    try:
        count = restored.count(COLLECTION)
        assert before <= count <= after
        hits = restored.find(COLLECTION, Filter(), limit=100_000)
        assert len(hits) == count
        assert all(h.payload["chunks"] == 1 and h.payload["chunk"] == 0 for h in hits)
    finally:
        restored.close()


def test_restore_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    (tmp_path / "empty.tar").write_bytes(b"")
    command = [
        sys.executable,
        "-m",
        "app",
        "restore",
        str(tmp_path / "empty.tar"),
        str(tmp_path / "busy"),
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "restore into a new directory" in run.stderr


def test_restore_says_when_the_file_is_not_a_backup(tmp_path: Path) -> None:
    (tmp_path / "junk.tar").write_text("not a tar file\n")
    command = [sys.executable, "-m", "app", "restore", str(tmp_path / "junk.tar")]
    command.append(str(tmp_path / "new"))
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip() == (
        f"restore failed: {tmp_path / 'junk.tar'} is not a backup archive "
        "(the tar file POST /v1/admin/backup answers)"
    )
    assert not (tmp_path / "new").exists()  # nothing left behind


def test_one_backup_at_a_time(tmp_path: Path, encoder: OnnxEncoder) -> None:
    for app in serve_app(tmp_path / "live", encoder, Settings()):
        with app.store.backing_up():  # a backup in progress
            second = httpx.post(f"{app.url}/v1/admin/backup", timeout=60)
            assert second.status_code == 409
            assert second.json()["error"]["code"] == "backup_in_progress"
            assert second.headers["retry-after"] == "10"
        after = httpx.post(f"{app.url}/v1/admin/backup", timeout=60)  # the first one ended
        assert after.status_code == 200


@pytest.mark.parametrize("gated", [True, False])
def test_a_qdrant_server_store_answers_backup_unsupported(
    encoder: OnnxEncoder, gated: bool
) -> None:
    remote = QdrantClientStore(QdrantClient(location=":memory:"))
    store = GatedStore(remote, None) if gated else remote
    service = SearchService(encoder, store, Metrics())
    for url in serve_in_thread(create_app(Settings(), service), _free_port()):
        response = httpx.post(f"{url}/v1/admin/backup", timeout=60)
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "backup_unsupported"
    remote.close()
