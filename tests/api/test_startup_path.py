"""One start-up path: `make run` is `python -m app` with the demo corpus to index, so both run
the encoder and the queue with the same settings, which /metrics shows; the corpus is indexed
in the background through the encode scheduler, its progress on /metrics."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.documents.record import Record
from app.main import create_app
from app.settings import Settings
from tests.conftest import ROOT, _free_port, serve_in_thread

# Settings that decide the encoder's threads and the queue's shape.
SCHEDULING = (
    "encoder_threads",
    "solo_query_threads",
    "encode_concurrency",
    "encode_queue_size",
    "request_timeout_s",
    "max_queue_wait_ms",
    "queue_aging_ms",
    "write_encode_texts",
    "encode_batch_size",
    "encode_batch_tokens",
    "combine_requests",
    "combine_max_texts",
    "model_variant",
)


def _make_run_command() -> tuple[dict[str, str], list[str]]:
    """The environment assignments and the command `make run` serves with (its last line)."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = shlex.split(printed.strip().splitlines()[-1])
    env = {}
    while words and "=" in words[0] and words[0].split("=", 1)[0].isupper():
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, words


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    with monkeypatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("POLYSEARCH_")]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        return Settings()


def test_make_run_serves_python_m_app_with_its_thread_and_queue_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, command = _make_run_command()
    assert command[-2:] == ["-m", "app"], command
    assert env.get("POLYSEARCH_INDEX_ON_START"), "make run no longer indexes the demo corpus"
    make_run = _settings_from(env, monkeypatch)
    plain = _settings_from({}, monkeypatch)
    for name in SCHEDULING:
        assert getattr(make_run, name) == getattr(plain, name), name
    assert make_run.encode_calls == plain.encode_calls
    assert make_run.threads_per_call(make_run.encode_calls) == plain.threads_per_call(
        plain.encode_calls
    )


def _metrics(client: httpx.Client) -> dict[str, float]:
    """Every sample of /metrics as `name{label="value",...}` (labels sorted) → value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_the_service_indexes_its_start_up_corpus_through_the_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_dir: Path, udhr_corpus: Path
) -> None:
    env, _ = _make_run_command()
    with udhr_corpus.open(encoding="utf-8") as lines:
        chosen = [
            line for line in lines if Record.model_validate_json(line).language in {"eng", "fra"}
        ][:12]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(chosen) + '{"id": "broken"}\n', encoding="utf-8")
    env |= {
        "POLYSEARCH_DATA_DIR": str(tmp_path / "qdrant"),
        "POLYSEARCH_MODELS_DIR": str(model_dir.parent),
        "POLYSEARCH_INDEX_ON_START": str(corpus),
    }
    settings = _settings_from(env, monkeypatch)
    for url in serve_in_thread(create_app(settings), _free_port()):
        with httpx.Client(base_url=url, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                figures = _metrics(client)
                done = figures.get('polysearch_background_index_documents{state="read"}')
                running = figures.get("polysearch_background_index_running")
                if done == len(chosen) and running == 0:
                    break
                assert time.monotonic() < deadline, figures
                time.sleep(0.2)
            assert client.get("/readyz").status_code == 200
            states = {
                state: figures[f'polysearch_background_index_documents{{state="{state}"}}']
                for state in ("total", "indexed", "unchanged", "rejected")
            }
            assert states == {
                "total": len(chosen) + 1,
                "indexed": len(chosen),
                "unchanged": 0,
                "rejected": 1,
            }
            # Its progress, as the demo page reads it.
            jobs = client.get("/v1/indexing").json()["jobs"]
            assert [job | {"seconds": None} for job in jobs] == [
                {
                    "collection": settings.default_collection,
                    "state": "done",
                    "documents_total": len(chosen) + 1,
                    "documents_read": len(chosen),
                    "documents_indexed": len(chosen),
                    "documents_unchanged": 0,
                    "documents_rejected": 1,
                    "seconds": None,
                }
            ]
            assert jobs[0]["seconds"] > 0
            # Its passages went through the scheduler at background priority.
            waits = 'polysearch_encode_queue_wait_seconds_count{priority="background"}'
            assert figures[waits] > 0
            assert figures['polysearch_encoded_texts_total{kind="passage"}'] >= len(chosen)
            # The settings in force, as `make run` and `python -m app` both get them.
            shown = {
                name: figures[f'polysearch_encode_setting{{setting="{name}"}}']
                for name in (
                    "encoder_threads",
                    "solo_query_threads",
                    "encode_slots",
                    "queue_capacity",
                )
            }
            assert shown == {
                "encoder_threads": settings.threads_per_call(settings.encode_calls),
                "solo_query_threads": settings.solo_threads(settings.encode_calls),
                "encode_slots": settings.encode_calls,
                "queue_capacity": settings.encode_queue_size,
            }
            wait_bound = figures['polysearch_encode_setting{setting="max_queue_wait_seconds"}']
            assert wait_bound == pytest.approx(settings.max_queue_wait_ms / 1000)
            first = json.loads(chosen[0])
            found = client.post("/v1/search", json={"query": first["text"][:200], "top_k": 3})
            assert found.status_code == 200
            assert first["id"] in [hit["id"] for hit in found.json()["results"]]
