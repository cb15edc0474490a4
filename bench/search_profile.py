"""`python -m bench.search_profile DATA_DIR`: where a search's time goes, call by call.

Loads the service on a store as `python -m app` would (`app.runtime.Runtime`, so `gc.freeze`
included unless `--no-freeze`), then runs the queries one at a time (c=1, in process, no HTTP)
for `--rounds` rounds, timing each store call (dense search, lexical search, scoring of
lexical-only hits, the highlights' retrieve) and the query's encoding, and recording every
pause of the garbage collector. Prints the percentiles per part and the slowest searches with
their breakdown: a diagnostic for latency tails, not a benchmark (`make bench` is that).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.metrics import Metrics
from app.runtime import Runtime, State
from app.settings import SearchMode, Settings
from bench.load import percentile

TIMED_STORE_CALLS = ("search", "search_lexical", "score_points", "retrieve")


def _timed(record: list[float], call: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            record.append(time.perf_counter() - began)

    return wrapper


class _GcPauses:
    """Every collection's generation and length (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._began))


def profile(
    settings: Settings, queries: list[str], rounds: int, mode: SearchMode, freeze: bool
) -> dict[str, Any]:
    runtime = Runtime(settings, Metrics())
    runtime.start()
    if runtime.wait() != State.READY or runtime.service is None:
        raise SystemExit(f"the service did not load: {runtime.error}")
    if not freeze:
        gc.unfreeze()
    # What one full collection costs a request that happens to trigger it, as loaded.
    began = time.perf_counter()
    gc.collect()
    full_collection_ms = (time.perf_counter() - began) * 1000
    service = runtime.service
    parts: dict[str, list[float]] = defaultdict(list)
    for name in TIMED_STORE_CALLS:
        setattr(service.store, name, _timed(parts[name], getattr(service.store, name)))
    service.embed = _timed(parts["encode"], service.embed)  # type: ignore[method-assign]
    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    searches: list[dict[str, Any]] = []
    try:
        for round_number in range(rounds):
            for query in queries:
                before = {name: len(times) for name, times in parts.items()}
                began = time.perf_counter()
                service.search(
                    settings.default_collection, query, 10, None, mode=mode, highlight=True
                )
                took = time.perf_counter() - began
                breakdown = {
                    name: round(sum(times[before.get(name, 0) :]) * 1000, 2)
                    for name, times in parts.items()
                }
                searches.append(
                    {"round": round_number, "query": query, "ms": took * 1000, **breakdown}
                )
    finally:
        gc.callbacks.remove(pauses)
        runtime.close()
    return {
        "full_collection_ms": round(full_collection_ms, 1),
        **_summary(searches, parts, pauses, freeze),
    }


def _summary(
    searches: list[dict[str, Any]],
    parts: dict[str, list[float]],
    pauses: _GcPauses,
    freeze: bool,
) -> dict[str, Any]:
    def spread(values_ms: list[float]) -> dict[str, float]:
        ordered = sorted(values_ms)
        return {
            "p50_ms": round(percentile(ordered, 50), 2),
            "p99_ms": round(percentile(ordered, 99), 2),
            "max_ms": round(ordered[-1], 2),
        }

    later = [s["ms"] for s in searches if s["round"] > 0] or [s["ms"] for s in searches]
    return {
        "gc_freeze": freeze,
        "searches": len(searches),
        "search": spread([s["ms"] for s in searches]),
        "search_after_first_round": spread(later),
        "parts": {  # the store calls the mode made (dense makes no lexical ones)
            name: spread([t * 1000 for t in times]) for name, times in parts.items() if times
        },
        "gc_pauses_over_5_ms": [
            {"generation": generation, "ms": round(seconds * 1000, 1)}
            for generation, seconds in pauses.pauses
            if seconds > 0.005
        ],
        "slowest": sorted(searches, key=lambda s: -s["ms"])[:8],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_profile", description=__doc__)
    parser.add_argument("data_dir", type=Path, help="the store (e.g. data/bench/whole-corpus/ours)")
    parser.add_argument("--collection", default="bench")
    parser.add_argument("--queries", type=Path, default=Path("data/bench/queries.json"))
    parser.add_argument("--rounds", type=int, default=8, help="passes over the queries")
    parser.add_argument("--mode", choices=("dense", "lexical", "hybrid"), default="hybrid")
    parser.add_argument("--no-freeze", action="store_true", help="undo start-up's gc.freeze")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be positive")
    settings = Settings(data_dir=args.data_dir, default_collection=args.collection)
    queries = json.loads(args.queries.read_text(encoding="utf-8"))
    report = profile(settings, queries, args.rounds, args.mode, not args.no_freeze)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
