"""`python -m bench.grouped_ranking`: groups ranked by their best passage or by the mean of their
best few, on the demo collection, side by side.

The service's own search (`SearchService.search` with `group_by: "metadata.article"`, in
process, real store and model) over a data directory holding the demo collection `udhr` (`make
demo-data`). Two query sets, each with the article that answers it: the benchmark's English
questions (`models/evaluation/data/questions.json`, 35, cross-lingual: any translation of the
article counts) and keyword queries (the 4 rarest words of an article, in its language, for the
22 development languages: the `hybrid` task's). For each mode and each `--passages` value,
rounds alternate between the values; it prints how often the top group is the right article
(acc@1) and the latency of a grouped search (p50, p99 over all rounds).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.encoder import OnnxEncoder
from app.metrics import Metrics
from app.service import SearchService
from app.settings import SearchMode, Settings
from app.store.factory import open_store
from indexer.udhr import DEFAULT_CORPUS
from models.evaluation.hybrid import keyword_queries
from models.evaluation.questions import load_questions
from models.evaluation.split import DEVELOPMENT_LANGUAGES

COLLECTION = "udhr"
GROUP_BY = "metadata.article"
Queries = list[tuple[str, int]]  # query, the article that answers it


def query_sets(service: SearchService, corpus: Path) -> dict[str, Queries]:
    articles: dict[str, list[tuple[int, str]]] = {}
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["language"] in DEVELOPMENT_LANGUAGES:
                articles.setdefault(record["language"], []).append(
                    (int(record["metadata"]["article"]), record["text"])
                )
    keywords = [
        (query, found[row][0])
        for found in articles.values()
        for row, query in keyword_queries(service.terms, [text for _, text in found])
    ]
    questions = [(q.question, q.article) for q in load_questions()]
    return {"questions": questions, "keywords": keywords}


def measure(
    service: SearchService, queries: Queries, mode: SearchMode, passages: int
) -> tuple[list[float], list[float]]:
    """Each query's acc@1 and seconds with groups ranked by their best `passages`."""
    service.group_rank_passages = passages
    right, seconds = [], []
    for query, article in queries:
        began = time.perf_counter()
        results = service.search(COLLECTION, query, 10, None, group_by=GROUP_BY, mode=mode)
        seconds.append(time.perf_counter() - began)
        right.append(float(bool(results) and results[0].metadata.get("article") == article))
    return right, seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.grouped_ranking", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Settings().data_dir)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--passages", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    settings = Settings(data_dir=args.data_dir)
    encoder = OnnxEncoder.from_settings(settings, concurrent_calls=1, solo_queries=False)
    service = SearchService.from_settings(encoder, open_store(settings), Metrics(), settings)
    sets = query_sets(service, args.corpus)
    print(
        f"{settings.model} on {args.data_dir}, collection {COLLECTION}: "
        + ", ".join(f"{len(queries)} {name}" for name, queries in sets.items())
    )
    print("| queries | mode | passages | acc@1 | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    modes: tuple[SearchMode, ...] = ("dense", "hybrid")
    for name, queries in sets.items():
        for mode in modes:
            found: dict[int, tuple[list[float], list[float]]] = {k: ([], []) for k in args.passages}
            for _ in range(args.rounds):
                for k in args.passages:
                    right, seconds = measure(service, queries, mode, k)
                    found[k][0].extend(right)
                    found[k][1].extend(seconds)
            for k, (right, seconds) in found.items():
                ms = np.array(seconds) * 1000
                print(
                    f"| {name} | {mode} | {k} | {np.mean(right) * 100:.1f} "
                    f"| {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
