"""`python -m bench.contention`: searches beside writes, and searches under a crowd, against the
real service (`python -m app` as a subprocess, default settings) over real HTTP on loopback.

Phases, each `--seconds` long:
1. `writers alone`: two clients upsert batches of `--batch` (256) new documents back to back;
   their throughput (documents/s) is the reference.
2. `search beside writers`: the same two writers, plus one client searching at c=1: search
   p50/p99, 503s, and the writers' throughput against phase 1.
3. `search at c=32`: 32 clients searching: p99 of the answers, the 503s (all must carry
   Retry-After) and their latency, and the longest wait the server's queue saw.

Goals (issue 18): phase 2: p99 ≤ 100 ms, no 503 for searches, writers ≥ half their phase-1
throughput; phase 3: p99 ≤ 300 ms, or 503s with Retry-After within 50 ms; no request waiting in
the queue longer than the bound. Writes `contention.json` and `contention.md` into `--out`.
`--smoke`: seconds, small batches, fewer clients; checks the harness, not the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import REPO_ROOT
from bench.load import REQUEST_ERRORS, percentile
from bench.loopback_http import Connection, Response
from bench.machine import busy_share, cpu_name, uptime
from bench.services import free_port, running_service
from indexer.registry import DEFAULT_CACHE
from indexer.udhr import DEFAULT_CORPUS, ensure_corpus

SEARCH_COLLECTION = "contention-search"
WRITE_COLLECTION = "contention-writes"
SEARCHED_PASSAGES = 512
REQUEST_TIMEOUT_S = 120.0
CLIENT_START_S = 5.0  # for the client processes to start, before a phase begins
PASSAGES = "polysearch_encoded_texts_total{kind=passage}"
READY_TIMEOUT_S = 300.0


@dataclass
class Latencies:
    """Client-side latencies (seconds) of one kind of request in one phase."""

    ok: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)  # 503 overloaded
    refused_without_retry_after: int = 0
    other: dict[str, int] = field(default_factory=dict)  # status or exception → count

    def summary(self) -> dict[str, Any]:
        ok, refused = sorted(self.ok), sorted(self.refused)

        def ms(values: list[float], q: float) -> float | None:
            return round(percentile(values, q) * 1000, 1) if values else None

        return {
            "ok": len(ok),
            "p50_ms": ms(ok, 50),
            "p99_ms": ms(ok, 99),
            "max_ms": ms(ok, 100),
            "refused_503": len(refused),
            "refused_p99_ms": ms(refused, 99),
            "refused_max_ms": ms(refused, 100),
            "refused_without_retry_after": self.refused_without_retry_after,
            "other": self.other,
        }


@dataclass
class Writers:
    documents: int = 0
    batches: int = 0
    latencies: Latencies = field(default_factory=Latencies)


def _record(latencies: Latencies, response: Response | None, seconds: float, error: str) -> None:
    if response is not None and response.status == 200:
        latencies.ok.append(seconds)
    elif response is not None and response.status == 503:
        code = str(json.loads(response.body).get("error", {}).get("code"))  # must be JSON
        if code == "overloaded":
            latencies.refused.append(seconds)
            if not response.headers.get(b"retry-after", b"").isdigit():
                latencies.refused_without_retry_after += 1
            return
        latencies.other["503 " + code] = latencies.other.get("503 " + code, 0) + 1
    else:
        key = str(response.status) if response is not None else error
        latencies.other[key] = latencies.other.get(key, 0) + 1


async def _timed(
    connection: Connection, path: str, body: dict[str, Any]
) -> tuple[Response | None, float, str]:
    """The response (None when the request failed: then the error's type name), timed."""
    data = json.dumps(body).encode("utf-8")
    began = time.perf_counter()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            response = await connection.post_json(path, data)
        return response, time.perf_counter() - began, ""
    except REQUEST_ERRORS as error:
        return None, time.perf_counter() - began, type(error).__name__


async def _searcher(
    connection: Connection, queries: list[str], until: float, out: Latencies, seed: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        body = {"query": rng.choice(queries), "collection": SEARCH_COLLECTION, "top_k": 10}
        response, seconds, error = await _timed(connection, "/v1/search", body)
        _record(out, response, seconds, error)


async def _writer(
    connection: Connection,
    name: str,
    passages: list[dict[str, Any]],
    batch: int,
    until: float,
    out: Writers,
) -> None:
    rng = random.Random(name)
    number = 0
    while time.monotonic() < until:
        number += 1
        chosen = rng.sample(passages, batch)
        documents = [
            {"id": f"{name}-{number}-{i}", "text": p["text"], "language": p.get("language")}
            for i, p in enumerate(chosen)
        ]
        response, seconds, error = await _timed(
            connection, f"/v1/collections/{WRITE_COLLECTION}/documents", {"documents": documents}
        )
        if time.monotonic() > until and response is not None and response.status == 200:
            out.latencies.ok.append(seconds)  # finished after the phase: not counted
            continue
        _record(out.latencies, response, seconds, error)
        if response is not None and response.status == 200:
            out.documents += batch
            out.batches += 1
        elif response is not None and response.status == 503:
            await asyncio.sleep(float(response.headers.get(b"retry-after", b"1")))


def _queue_metrics(url: str) -> dict[str, float]:
    text = httpx.get(url + "/metrics", timeout=30, trust_env=False).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(
                (
                    "polysearch_encode_queue",
                    "polysearch_encode_setting",
                    "polysearch_encoded",
                    "polysearch_http_request_duration",
                )
            ):
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def _over_edges(
    before: dict[str, float], after: dict[str, float], histogram: str, label: str
) -> tuple[int, dict[str, int]]:
    """Observations of `histogram` (those with `label`) in the phase, and how many of them
    were over each bucket edge (seconds)."""
    total_key = f"{histogram}_count{{{label}}}"
    total = after.get(total_key, 0) - before.get(total_key, 0)
    over: dict[str, int] = {}
    for key, value in after.items():
        if key.startswith(f"{histogram}_bucket{{") and label in key:
            edge = key.split("le=")[1].split(",")[0].rstrip("}")
            if edge != "+Inf":
                over[edge] = int(total - (value - before.get(key, 0)))
    return int(total), over


def _server_side(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """The server's own view: query waits in the encode queue, and the time admitted
    searches took inside the server, by histogram bucket."""
    waits, waits_over = _over_edges(
        before, after, "polysearch_encode_queue_wait_seconds", "priority=query"
    )
    searches, searches_over = _over_edges(
        before, after, "polysearch_http_request_duration_seconds", "method=POST,route=/v1/search"
    )
    # Refused at the door, before routing: the route label is "unmatched" (nothing else is).
    refusals, refusals_over = _over_edges(
        before, after, "polysearch_http_request_duration_seconds", "method=POST,route=unmatched"
    )
    return {
        "query_waits": waits,
        "over_edge_s": waits_over,
        "server_searches": searches,
        "server_search_over_edge_s": searches_over,
        "server_search_p99_at_most_s": _p99_bound(searches, searches_over),
        "server_door_refusals": refusals,
        "server_door_refusal_p99_at_most_s": _p99_bound(refusals, refusals_over),
    }


def _p99_bound(total: int, over: dict[str, int]) -> float | None:
    """The smallest bucket edge that at least 99 % of the observations stayed under."""
    edges = sorted((float(edge), count) for edge, count in over.items())
    return next((edge for edge, count in edges if count <= total * 0.01), None) if total else None


async def _clients(
    url: str,
    until: float,
    searchers: int,
    writers: int,
    queries: list[str],
    passages: list[dict[str, Any]],
    batch: int,
) -> tuple[Latencies, list[Writers]]:
    """Each client on a connection of its own, through the lean client that `bench.load` uses
    (httpx's ~1 ms of CPU per request would be taken from the service's 2 cores)."""
    connections = [Connection.to(url) for _ in range(searchers + writers)]
    search = Latencies()
    writes = [Writers() for _ in range(writers)]
    tasks = [
        _searcher(connections[seed], queries, until, search, seed) for seed in range(searchers)
    ]
    tasks += [
        _writer(connections[searchers + i], f"w{i}-{int(until)}", passages, batch, until, writes[i])
        for i in range(writers)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for connection in connections:
            connection.close()
    return search, writes


def _client_process(
    url: str,
    start_wall: float,
    seconds: float,
    searchers: int,
    writers: int,
    queries: list[str],
    passages: list[dict[str, Any]],
    batch: int,
) -> tuple[Latencies, list[Writers]]:
    time.sleep(max(0.0, start_wall - time.time()))  # both processes begin together
    until = time.monotonic() + seconds
    return asyncio.run(_clients(url, until, searchers, writers, queries, passages, batch))


def _phase(
    url: str,
    seconds: float,
    searchers: int,
    writers: int,
    queries: list[str],
    passages: list[dict[str, Any]],
    batch: int,
) -> dict[str, Any]:
    """Searchers and writers run in processes of their own, so that neither's client work
    delays the other's measurements."""
    before = _queue_metrics(url)
    start_wall = time.time() + CLIENT_START_S
    search, writes = Latencies(), []
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        searching = pool.submit(
            _client_process, url, start_wall, seconds, searchers, 0, queries, passages, batch
        )
        writing = pool.submit(
            _client_process, url, start_wall, seconds, 0, writers, queries, passages, batch
        )
        search, writes = searching.result()[0], writing.result()[1]
    elapsed = time.time() - start_wall  # the last upserts finish after the phase
    after = _queue_metrics(url)
    result: dict[str, Any] = {"seconds": round(elapsed, 1), "searchers": searchers}
    if searchers:
        result["search"] = search.summary()
        result["search"]["qps"] = round(len(search.ok) / seconds, 1)
        result["queue"] = _server_side(before, after)
    if writers:
        documents = sum(w.documents for w in writes)
        merged = Latencies()
        for w in writes:
            merged.ok += w.latencies.ok
            merged.refused += w.latencies.refused
            for key, count in w.latencies.other.items():
                merged.other[key] = merged.other.get(key, 0) + count
        result["writers"] = {
            "clients": writers,
            "batch": batch,
            "batches": sum(w.batches for w in writes),
            "documents": documents,
            "documents_per_s": round(documents / seconds, 1),
            # Passages encoded by the server in the phase: counts the batch in flight at its end.
            "passages_per_s": round(
                (after.get(PASSAGES, 0) - before.get(PASSAGES, 0)) / elapsed, 1
            ),
            "requests": merged.summary(),
        }
    return result


def _load_corpus(limit: int | None = None) -> list[dict[str, Any]]:
    path = ensure_corpus(REPO_ROOT / DEFAULT_CORPUS, REPO_ROOT / DEFAULT_CACHE)
    with path.open(encoding="utf-8") as lines:
        passages = [json.loads(line) for line in lines if line.strip()]
    random.Random(7).shuffle(passages)
    return passages[:limit] if limit else passages


def _seed(url: str, passages: list[dict[str, Any]]) -> None:
    documents = [
        {"id": p["id"], "text": p["text"], "language": p.get("language")} for p in passages
    ]
    with httpx.Client(base_url=url, timeout=600, trust_env=False) as client:
        for start in range(0, len(documents), 256):
            path = f"/v1/collections/{SEARCH_COLLECTION}/documents"
            response = client.post(path, json={"documents": documents[start : start + 256]})
            response.raise_for_status()


def _queries(passages: list[dict[str, Any]]) -> list[str]:
    """Short queries: the first words of passages (other than the searched ones)."""
    return [" ".join(p["text"].split()[:12]) for p in passages[-400:]]


def _goals(phases: dict[str, Any], bound_ms: float) -> dict[str, bool | None]:
    alone = phases["writers alone"]["writers"]["passages_per_s"]
    beside = phases["search beside writers"]
    crowd = phases["search at c=32"]["search"]
    fast_refusals = crowd["refused_503"] == 0 or (
        crowd["refused_p99_ms"] is not None
        and crowd["refused_p99_ms"] <= 50
        and crowd["refused_without_retry_after"] == 0
    )
    waits = phases["search at c=32"]["queue"]["over_edge_s"]
    edges = sorted((float(e), n) for e, n in waits.items() if float(e) >= bound_ms / 1000)
    return {
        "beside: search p99 <= 100 ms": (beside["search"]["p99_ms"] or 1e9) <= 100,
        "beside: no 503 for searches": beside["search"]["refused_503"] == 0,
        "beside: writers >= half their alone throughput": alone > 0
        and beside["writers"]["passages_per_s"] >= alone / 2,
        "c=32: p99 <= 300 ms or fast 503 with Retry-After": (crowd["p99_ms"] or 1e9) <= 300
        or fast_refusals,
        "c=32: no queue wait over the bound (first bucket edge >= bound)": edges[0][1] == 0
        if edges
        else None,
    }


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Searches beside writes, and under a crowd (`python -m bench.contention`)",
        "",
        f"Machine: {report['machine']}. {report['note']}",
        "",
        f"Service: `python -m app`, default settings; settings in force: "
        f"`{report['settings']}`. Each phase {report['seconds']:g} s; writers upsert "
        f"{report['batch']} new UDHR passages per request, back to back; searches go to a "
        f"{report['searched']}-passage collection.",
        "",
        "| phase | search ok | p50 ms | p99 ms | max ms | 503 | 503 p99 ms | 503 max ms "
        "| writers docs/s | writers passages/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, phase in report["phases"].items():
        s = phase.get("search", {})
        w = phase.get("writers", {})
        cells = [
            name,
            s.get("ok", "-"),
            s.get("p50_ms", "-"),
            s.get("p99_ms", "-"),
            s.get("max_ms", "-"),
            s.get("refused_503", "-"),
            s.get("refused_p99_ms", "-"),
            s.get("refused_max_ms", "-"),
            w.get("documents_per_s", "-"),
            w.get("passages_per_s", "-"),
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    crowd = report["phases"]["search at c=32"]["queue"]
    beside = report["phases"]["search beside writers"]["queue"]
    lines += [
        "",
        "Inside the server (its own histograms; bucket edges, so upper bounds): searches beside "
        f"writers p99 <= {beside['server_search_p99_at_most_s']} s; at c=32 admitted searches "
        f"p99 <= {crowd['server_search_p99_at_most_s']} s, {crowd['server_door_refusals']} "
        f"refused at the door with p99 <= {crowd['server_door_refusal_p99_at_most_s']} s. The "
        "rest of the client's figures is the HTTP path and CPU scheduling on this machine.",
    ]
    lines += ["", "Goals (issue 18):", ""]
    lines += [
        f"- {goal}: **{'met' if ok else 'NOT met' if ok is False else 'n/a'}**"
        for goal, ok in report["goals"].items()
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> dict[str, Any]:
    machine = (
        f"{cpu_name()}, {os.cpu_count()} cores; busy before the run (other jobs): "
        f"{busy_share(1.0 if args.smoke else 3.0):.0%}; {uptime()}"
    )
    passages = _load_corpus()
    searched = passages[: args.searched]
    writable = passages[args.searched : -400]
    queries = _queries(passages)
    work = Path(tempfile.mkdtemp(prefix="contention-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POLYSEARCH_")},
        "POLYSEARCH_DATA_DIR": str(work / "qdrant"),
        "POLYSEARCH_PORT": str(port),
        "POLYSEARCH_HOST": "127.0.0.1",
        "POLYSEARCH_LOG_FORMAT": "text",
        **dict(setting.split("=", 1) for setting in args.setting),
    }
    command = [sys.executable, "-m", "app"]
    with running_service(
        "polysearch", command, env, port, work / "service.log", READY_TIMEOUT_S
    ) as service:
        _seed(service.url, searched)
        settings = {
            k.split("setting=")[1].rstrip("}"): v
            for k, v in _queue_metrics(service.url).items()
            if "setting=" in k
        }
        phases: dict[str, Any] = {}
        for name, searchers, writers in (
            ("writers alone", 0, 2),
            ("search beside writers", 1, 2),
            ("search at c=32", args.crowd, 0),
        ):
            print(f"{name}: {args.seconds:g} s ...", file=sys.stderr, flush=True)
            phases[name] = _phase(
                service.url, args.seconds, searchers, writers, queries, writable, args.batch
            )
            print(json.dumps(phases[name]), file=sys.stderr, flush=True)
    report: dict[str, Any] = {
        "machine": machine,
        "note": args.note,
        "smoke": args.smoke,
        "seconds": args.seconds,
        "batch": args.batch,
        "crowd": args.crowd,
        "searched": args.searched,
        "settings": settings,
        "phases": phases,
    }
    report["goals"] = _goals(phases, 1000 * settings.get("max_queue_wait_seconds", 0.2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.contention", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each phase")
    parser.add_argument("--batch", type=int, default=256, help="documents per upsert")
    parser.add_argument("--crowd", type=int, default=32, help="searchers in the last phase")
    parser.add_argument(
        "--searched",
        type=int,
        default=SEARCHED_PASSAGES,
        help="passages in the searched collection",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="3 s phases, batches of 16, c=4, 64 passages searched"
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="POLYSEARCH_NAME=VALUE",
        help="a service setting for the run (repeatable); the service otherwise runs on defaults",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/bench"))
    parser.add_argument("--note", default="", help="a line about the machine's other load")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.batch, args.crowd, args.searched = 3.0, 16, 4, 64
    report = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "contention.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out / "contention.md").write_text(_markdown(report), encoding="utf-8")
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
