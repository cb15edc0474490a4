"""`python -m bench.load URL ...`: a closed-loop load generator for `POST /v1/search`.

Runs in its own process so that its CPU time is not charged to the server's event loop, and
sends its requests through a lean HTTP/1.1 client (bench/loopback_http.py) so that little of
the 2 cores goes to the client.
`concurrency` clients each send one request, wait for the answer, and send the next, until
`duration_s` has passed or `max_requests` have been sent; then it prints one JSON object.
Only loopback URLs are accepted: this is a benchmark, not a load-testing tool for others.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.loopback_http import Connection, HttpProtocolError

REQUEST_TIMEOUT_S = 60.0


@dataclass
class LoadResult:
    concurrency: int
    filtered: bool
    requests: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    qps: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of an ascending list."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(min(rank, len(sorted_values))) - 1]


def summarise(
    concurrency: int, filtered: bool, latencies: list[float], errors: Counter[str], seconds: float
) -> LoadResult:
    ordered = sorted(latencies)
    result = LoadResult(concurrency, filtered, len(ordered) + sum(errors.values()), len(ordered))
    result.errors = dict(errors)
    result.seconds = round(seconds, 3)
    if ordered and seconds > 0:
        result.qps = round(len(ordered) / seconds, 2)
        result.p50_ms = round(percentile(ordered, 50) * 1000, 2)
        result.p95_ms = round(percentile(ordered, 95) * 1000, 2)
        result.p99_ms = round(percentile(ordered, 99) * 1000, 2)
        result.mean_ms = round(sum(ordered) / len(ordered) * 1000, 2)
    return result


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"only loopback URLs are load-tested, not {url!r}")


@dataclass
class _Budget:
    left: int
    deadline: float

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


# What a request may fail with besides an HTTP status: counted by the error's type name.
REQUEST_ERRORS = (OSError, EOFError, TimeoutError, ValueError, HttpProtocolError)


async def _client_loop(
    connection: Connection,
    path: str,
    bodies: list[bytes],
    offset: int,
    budget: _Budget,
    latencies: list[float],
    errors: Counter[str],
) -> None:
    sent = 0
    while budget.take():
        body = bodies[(offset + sent) % len(bodies)]
        sent += 1
        start = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                response = await connection.post_json(path, body)
        except REQUEST_ERRORS as error:
            errors[type(error).__name__] += 1
            continue
        if response.status == 200:
            latencies.append(time.perf_counter() - start)
        else:
            errors[f"http_{response.status}"] += 1


async def generate_load(
    base_url: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    duration_s: float,
    max_requests: int,
    warmup: int,
) -> LoadResult:
    check_loopback(base_url)
    path = urlsplit(base_url).path.rstrip("/") + "/v1/search"
    encoded = [json.dumps(body).encode("utf-8") for body in bodies]
    connections = [Connection.to(base_url) for _ in range(concurrency)]
    try:
        for body, data in zip(bodies[:warmup], encoded, strict=False):  # lazy set-up: unmeasured
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                response = await connections[0].post_json(path, data)
            if response.status != 200:
                raise RuntimeError(f"{base_url}{path} answered {response.status} in the warm-up")
            if not json.loads(response.body)["results"]:  # an empty index: fast, meaningless
                raise RuntimeError(f"{base_url}{path} found nothing for {body['query']!r}")
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        began = time.perf_counter()
        budget = _Budget(max_requests, began + duration_s)
        await asyncio.gather(
            *(
                _client_loop(connection, path, encoded, i, budget, latencies, errors)
                for i, connection in enumerate(connections)
            )
        )
        seconds = time.perf_counter() - began
    finally:
        for connection in connections:
            connection.close()
    filtered = any("languages" in body for body in bodies)
    return summarise(concurrency, filtered, latencies, errors, seconds)


def request_bodies(
    queries: list[str],
    top_k: int,
    languages: list[str] | None,
    mode: str | None = None,
    highlight: bool | None = None,
) -> list[dict[str, Any]]:
    """One body per query; `mode` and `highlight` are sent only when given (None: the
    service's defaults; the naive stack's service knows neither field)."""
    extra: dict[str, Any] = {"languages": languages} if languages else {}
    if mode is not None:
        extra["mode"] = mode
    if highlight is not None:
        extra["highlight"] = highlight
    return [{"query": q, "top_k": top_k, **extra} for q in queries]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("url", help="the service's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--queries", type=Path, required=True, help="JSON list of query strings")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--max-requests", type=int, default=10_000)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--languages", default="", help="comma-separated language filter")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests first")
    parser.add_argument(
        "--mode", choices=("dense", "lexical", "hybrid"), help="ranking (default: the service's)"
    )
    parser.add_argument(
        "--no-highlight", action="store_true", help="ask for no highlights (default: the service's)"
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.max_requests < 1 or args.duration <= 0:
        parser.error("concurrency, max-requests and duration must be positive")
    queries = json.loads(args.queries.read_text(encoding="utf-8"))
    languages = [code for code in args.languages.split(",") if code] or None
    bodies = request_bodies(
        queries, args.top_k, languages, args.mode, False if args.no_highlight else None
    )
    result = asyncio.run(
        generate_load(
            args.url, bodies, args.concurrency, args.duration, args.max_requests, args.warmup
        )
    )
    json.dump(asdict(result), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
