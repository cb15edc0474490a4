"""`python -m bench.startup_searches`: what a user meets searching while `make run` indexes.

`python -m app` starts on an empty store with the demo corpus to index at start-up
(`POLYSEARCH_INDEX_ON_START`), with the service's default settings, as `make run` serves. Once it
is ready, `--searches` searches go one at a time, `--every` seconds apart (a person trying the
demo page), while the corpus is indexed; then the run waits for the indexing to end
(`GET /v1/indexing`). It prints each search's status and latency, how many were refused, and the
indexing's passages/s: with `--searches 0`, the indexing alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from app.settings import DEFAULT_MODEL
from bench.services import base_env, free_port, running_service
from indexer.registry import DEFAULT_CACHE
from indexer.udhr import DEFAULT_CORPUS, ensure_corpus

QUERY = "Can I be forced to join a trade union?"
SETTLE_S = 5.0  # after ready, before the first search: the indexing is under way


def run(
    corpus: Path, model: str, models_dir: Path, searches: int, every_s: float, work: Path
) -> dict[str, Any]:
    port = free_port()
    env = {
        **base_env(),
        "POLYSEARCH_MODELS_DIR": str(models_dir.resolve()),
        "POLYSEARCH_MODEL": model,
        "POLYSEARCH_DATA_DIR": str(work / "store"),
        "POLYSEARCH_PORT": str(port),
        "POLYSEARCH_INDEX_ON_START": str(corpus.resolve()),
    }
    log = work / "service.log"
    answers: list[tuple[int, float, bool]] = []  # status, ms, sent while the indexing ran
    command = [sys.executable, "-m", "app"]
    with (
        running_service(model, command, env, port, log, 300) as service,
        httpx.Client(base_url=service.url, timeout=60, trust_env=False) as client,
    ):

        def job() -> dict[str, Any]:
            found: dict[str, Any] = client.get("/v1/indexing").json()["jobs"][0]
            return found

        time.sleep(SETTLE_S)
        for _ in range(searches):
            running = job()["state"] == "running"
            began = time.perf_counter()
            response = client.post("/v1/search", json={"query": QUERY})
            answers.append((response.status_code, (time.perf_counter() - began) * 1000, running))
            time.sleep(every_s)
        while (last := job())["state"] == "running":
            time.sleep(1.0)
    if last["state"] != "done":
        raise RuntimeError(f"the start-up indexing {last['state']}: see {log}")
    return {"answers": answers, "job": last}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup_searches", description=__doc__)
    parser.add_argument("--corpus", type=Path, help="JSONL to index (default: the demo corpus)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--models-dir", type=Path, default=Path("artifacts/models"))
    parser.add_argument("--searches", type=int, default=12)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between searches")
    args = parser.parse_args(argv)
    if args.searches < 0 or args.every < 0:
        parser.error("--searches and --every must not be negative")
    corpus = args.corpus or ensure_corpus(DEFAULT_CORPUS, DEFAULT_CACHE)
    with tempfile.TemporaryDirectory(prefix="startup-searches-") as tmp:
        result = run(corpus, args.model, args.models_dir, args.searches, args.every, Path(tmp))
    answers, job = result["answers"], result["job"]
    refused = sum(1 for status, _, _ in answers if status == 503)
    during = sum(1 for _, _, running in answers if running)
    for number, (status, ms, running) in enumerate(answers, 1):
        when = "while indexing" if running else "after the indexing"
        print(f"search {number}: {status} in {ms:.1f} ms ({when})")
    print(f"{len(answers)} searches, {during} of them while indexing; {refused} refused (503)")
    passages_s = job["documents_read"] / job["seconds"] if job["seconds"] else 0.0
    print(
        f"indexing: {job['documents_read']:,} documents in {job['seconds']} s, "
        f"{passages_s:.1f} documents/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
