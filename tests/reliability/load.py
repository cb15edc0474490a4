"""Load test: overload the service at a multiple of its sustainable rate, then let load drop.

    python -m tests.reliability.load                 # starts `python -m app` on a temp store
    python -m tests.reliability.load --url URL --pid PID   # a running service (RSS via PID)

Phases: seed a small collection; *calibrate* the sustainable search rate R with two closed-loop
clients; *overload* with an open-loop client offering `--multiplier` times R requests/s for
`--duration` s; *recover* with one closed-loop client. Server RSS is sampled throughout.
Passes (exit 0) when the server stayed up, answered only 200 or 503 `overloaded` (with
Retry-After) under overload, its RSS grew less than `--max-rss-growth-mb`, and after the
overload every request succeeded again with a p50 latency near the calibrated one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.reliability.service_process import ServiceProcess, start_service

COLLECTION = "load"
WORDS = (
    "freedom", "uhuru", "liberté", "свобода", "自由", "حرية", "education", "elimu", "教育",
    "family", "familia", "семья", "work", "kazi", "travail", "asylum", "rest", "नागरिकता",
)  # fmt: skip
MAX_IN_FLIGHT = 1_000  # client-side cap; the server must refuse long before this


@dataclass
class Phase:
    seconds: float = 0.0
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)  # successful requests only
    missing_retry_after: int = 0
    client_skipped: int = 0  # not sent: the client already had MAX_IN_FLIGHT unanswered

    def summary(self) -> dict[str, object]:
        ok = sorted(self.latencies_ms)
        return {
            "seconds": round(self.seconds, 2),
            "sent": self.sent,
            "statuses": dict(self.statuses),
            "ok_per_s": round(len(ok) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(ok), 1) if ok else None,
            "p99_ms": round(ok[min(len(ok) - 1, int(len(ok) * 0.99))], 1) if ok else None,
            "missing_retry_after": self.missing_retry_after,
            "client_skipped": self.client_skipped,
        }


def _query(rng: random.Random) -> dict[str, object]:
    words = rng.sample(WORDS, 3)
    return {"query": " ".join(words), "top_k": 5, "collection": COLLECTION}


async def _one(client: httpx.AsyncClient, phase: Phase, rng: random.Random) -> None:
    phase.sent += 1
    start = time.perf_counter()
    try:
        response = await client.post("/v1/search", json=_query(rng))
    except httpx.TransportError as error:
        phase.statuses[type(error).__name__] += 1
        return
    phase.statuses[str(response.status_code)] += 1
    if response.status_code == 200:
        phase.latencies_ms.append((time.perf_counter() - start) * 1000)
    elif response.status_code == 503 and "retry-after" not in response.headers:
        phase.missing_retry_after += 1


async def closed_loop(client: httpx.AsyncClient, seconds: float, workers: int) -> Phase:
    phase = Phase()
    rng = random.Random(1)
    start = time.perf_counter()

    async def worker() -> None:
        while time.perf_counter() - start < seconds:
            await _one(client, phase, rng)

    await asyncio.gather(*(worker() for _ in range(workers)))
    phase.seconds = time.perf_counter() - start
    return phase


async def open_loop(client: httpx.AsyncClient, seconds: float, rate: float) -> Phase:
    """Requests sent on a fixed schedule, whether or not earlier ones were answered."""
    phase = Phase()
    rng = random.Random(2)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    for i in range(int(seconds * rate)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= MAX_IN_FLIGHT:
            phase.client_skipped += 1
            continue
        task = asyncio.create_task(_one(client, phase, rng))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - start
    return phase


async def sample_rss(process: psutil.Process, samples: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(process.memory_info().rss)
        await asyncio.sleep(0.25)


async def seed(client: httpx.AsyncClient) -> None:
    documents = [
        {"id": f"doc-{i}", "text": f"{' '.join(WORDS[i % len(WORDS) :][:4])} passage {i}"}
        for i in range(24)
    ]
    response = await client.post(
        f"/v1/collections/{COLLECTION}/documents", json={"documents": documents}, timeout=120
    )
    response.raise_for_status()


async def run(url: str, pid: int, args: argparse.Namespace) -> dict[str, object]:
    server = psutil.Process(pid)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await seed(client)
        await closed_loop(client, 1.0, 1)  # warm-up
        rss: list[int] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(server, rss, stop))
        calibrate = await closed_loop(client, args.calibrate, 2)
        rate = len(calibrate.latencies_ms) / calibrate.seconds
        rss_before = max(rss)
        overload = await open_loop(client, args.duration, rate * args.multiplier)
        rss_peak = max(rss)
        recover = await closed_loop(client, args.recover, 1)
        stop.set()
        await sampler
    alive = server.is_running() and server.status() != psutil.STATUS_ZOMBIE
    growth_mb = (rss_peak - rss_before) / 2**20
    statuses = set(overload.statuses)
    baseline_p50 = statistics.median(calibrate.latencies_ms)
    recovered = set(recover.statuses) == {"200"} and (
        statistics.median(recover.latencies_ms) <= 3 * baseline_p50 + 50
    )
    checks = {
        "server_alive": alive,
        "only_200_or_503_under_overload": statuses <= {"200", "503"},
        "backpressure_engaged": overload.statuses["503"] > 0,
        "retry_after_on_every_503": overload.missing_retry_after == 0,
        "rss_bounded": growth_mb < args.max_rss_growth_mb,
        "recovered": recovered,
    }
    return {
        "sustainable_rate_per_s": round(rate, 1),
        "offered_rate_per_s": round(rate * args.multiplier, 1),
        "calibrate": calibrate.summary(),
        "overload": overload.summary(),
        "recover": recover.summary(),
        "rss_mb": {
            "before_overload": round(rss_before / 2**20, 1),
            "peak": round(rss_peak / 2**20, 1),
            "after": round(rss[-1] / 2**20, 1),
            "growth": round(growth_mb, 1),
        },
        "machine_load_1m": round(psutil.getloadavg()[0], 2),
        "cpus": psutil.cpu_count(),
        "checks": checks,
        "passed": all(checks.values()),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.load", description=__doc__)
    parser.add_argument("--url", help="a running service (default: start one on a temp store)")
    parser.add_argument("--pid", type=int, help="the running service's process id (for RSS)")
    parser.add_argument("--multiplier", type=float, default=4.0)
    parser.add_argument("--calibrate", type=float, default=5.0, help="seconds")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of overload")
    parser.add_argument("--recover", type=float, default=5.0, help="seconds")
    parser.add_argument("--max-rss-growth-mb", type=float, default=300.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    service: ServiceProcess | None = None
    with tempfile.TemporaryDirectory(prefix="polysearch-load-") as tmp:
        if args.url is None:
            service = start_service(Path(tmp) / "data", Path(tmp) / "service.log")
            service.wait_ready()
            url, pid = service.url, service.process.pid
        elif args.pid is None:
            print("--pid is needed with --url (to sample the server's memory)", file=sys.stderr)
            return 2
        else:
            url, pid = args.url, args.pid
        try:
            results = asyncio.run(run(url, pid, args))
        finally:
            if service is not None:
                service.stop()
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
