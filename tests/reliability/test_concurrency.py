"""Concurrent upserts, deletes and searches from many threads for a bounded time: no errors,
and the final state equals the one each writer expects."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx

from app.encoder import OnnxEncoder
from app.settings import Settings
from tests.reliability.conftest import serve_app

COLLECTION = "busy"
WRITERS = 6
SEARCHERS = 3
SECONDS = 8.0


def _writer(url: str, n: int, expected: dict[str, str], errors: list[str]) -> None:
    """Owns ids `w{n}-*`: upserts new versions and deletes at random, remembering the truth."""
    rng = random.Random(n)
    mine: dict[str, str] = {}
    deadline = time.monotonic() + SECONDS
    with httpx.Client(base_url=url, timeout=60) as client:
        version = 0
        while time.monotonic() < deadline:
            doc_id = f"w{n}-{rng.randrange(8)}"
            if doc_id in mine and rng.random() < 0.3:
                response = client.delete(f"/v1/collections/{COLLECTION}/documents/{doc_id}")
                if response.status_code != 200:
                    errors.append(f"delete {doc_id}: {response.status_code} {response.text}")
                mine.pop(doc_id, None)
            else:
                version += 1
                text = f"writer {n} document {doc_id} version {version}"
                document = {"id": doc_id, "text": text, "lang": "en"}
                response = client.post(
                    f"/v1/collections/{COLLECTION}/documents", json={"documents": [document]}
                )
                if response.status_code != 200:
                    errors.append(f"upsert {doc_id}: {response.status_code} {response.text}")
                mine[doc_id] = text
    expected.update(mine)


def _searcher(url: str, errors: list[str], searches: list[int]) -> None:
    deadline = time.monotonic() + SECONDS
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.monotonic() < deadline:
            response = client.post(
                "/v1/search", json={"query": "writer document version", "collection": COLLECTION}
            )
            if response.status_code != 200:
                errors.append(f"search: {response.status_code} {response.text}")
            searches.append(1)


def test_concurrent_writes_deletes_and_searches(tmp_path: Path, encoder: OnnxEncoder) -> None:
    for app in serve_app(tmp_path / "qdrant", encoder, Settings()):
        seed = {"id": "seed", "text": "a first document so that the collection exists"}
        httpx.post(
            f"{app.url}/v1/collections/{COLLECTION}/documents", json={"documents": [seed]}
        ).raise_for_status()
        expected: dict[str, str] = {"seed": seed["text"]}
        errors: list[str] = []
        searches: list[int] = []
        threads = [
            threading.Thread(target=_writer, args=(app.url, n, expected, errors))
            for n in range(WRITERS)
        ] + [
            threading.Thread(target=_searcher, args=(app.url, errors, searches))
            for _ in range(SEARCHERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(SECONDS + 60)
        assert errors == []
        assert len(searches) > 10
        with httpx.Client(base_url=app.url) as client:
            listed = client.get("/v1/collections").json()["collections"]
            assert {c["name"]: c["points"] for c in listed}[COLLECTION] == len(expected)
            for doc_id, text in expected.items():
                document = client.get(f"/v1/collections/{COLLECTION}/documents/{doc_id}")
                assert document.status_code == 200, doc_id
                assert document.json()["chunks"] == [text]
            for n in range(WRITERS):
                for i in range(8):
                    if f"w{n}-{i}" not in expected:
                        gone = client.get(f"/v1/collections/{COLLECTION}/documents/w{n}-{i}")
                        assert gone.status_code == 404
