"""Turning measured figures into ratios, goal lines, and the JSON + Markdown written to disk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.settings import DEFAULT_BATCH_TOKENS
from bench.limit import CpuPeak, Limit, ModelShape, describe

RSS_LIMIT_MB = 1500.0  # the 1.5 GB


@dataclass(frozen=True)
class Goal:
    text: str
    measured: str
    passed: bool | None  # None: not measured in this run

    def as_dict(self) -> dict[str, Any]:
        return {"goal": self.text, "measured": self.measured, "pass": self.passed}


DENSE = "dense"  # the searches both stacks run alike: dense ranking, no highlights
SERVICE_DEFAULT = "default"  # ours only: a request naming neither mode nor highlight


def find_load(
    results: dict[str, Any],
    stack: str,
    concurrency: int,
    filtered: bool,
    search: str = DENSE,
) -> dict[str, Any] | None:
    for phase in results["services"].get(stack, {}).get("load", []):
        if (
            phase["concurrency"] == concurrency
            and phase["filtered"] == filtered
            and phase.get("search", DENSE) == search
        ):
            found: dict[str, Any] = phase
            return found
    return None


def ratio(ours: float | None, naive: float | None) -> float | None:
    if ours is None or not naive:
        return None
    return round(ours / naive, 2)


def qps_ratios(results: dict[str, Any], concurrencies: tuple[int, ...]) -> dict[str, float | None]:
    ratios: dict[str, float | None] = {}
    for concurrency in concurrencies:
        for filtered in (False, True):
            ours = find_load(results, "ours", concurrency, filtered)
            naive = find_load(results, "naive", concurrency, filtered)
            key = f"qps_c{concurrency}" + ("_filtered" if filtered else "")
            ratios[key] = ratio(ours["qps"] if ours else None, naive["qps"] if naive else None)
    return ratios


def encode_ratios(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Ours over FastEmbed's passages/s, per variant and texts per call (the same ONNX file)."""
    theirs = {
        (r["variant"], r["batch_size"]): r["per_s"] for r in rows if r["stack"] == "fastembed"
    }
    return {
        f"encode_vs_fastembed_{r['variant'].removeprefix('onnx-')}_b{r['batch_size']}": ratio(
            r["per_s"], theirs.get((r["variant"], r["batch_size"]))
        )
        for r in rows
        if r["stack"] == "ours"
    }


def _served_encode_ratio(results: dict[str, Any]) -> float | None:
    """Ours over FastEmbed at the variant and texts per call the project serves and indexes
    with (None when the run measured no such row)."""
    served = results.get("served") or {}
    variant = str(served.get("variant", "")).removeprefix("onnx-")
    key = f"encode_vs_fastembed_{variant}_b{served.get('batch_size')}"
    value: float | None = results["ratios"].get(key)
    return value


def _whole_corpus_minutes(results: dict[str, Any]) -> float | None:
    seconds = (results.get("whole_corpus") or {}).get("seconds")
    return None if seconds is None else round(seconds / 60, 1)


def _check(text: str, value: float | None, limit: float, unit: str, at_most: bool) -> Goal:
    if value is None:
        return Goal(text, "not measured", None)
    passed = value <= limit if at_most else value >= limit
    return Goal(text, f"{value:g} {unit}".strip(), passed)


def goals(results: dict[str, Any]) -> list[Goal]:
    c1 = find_load(results, "ours", 1, False) or {}
    c8 = find_load(results, "ours", 8, False) or {}
    default_c1 = find_load(results, "ours", 1, False, SERVICE_DEFAULT) or {}
    ours_service = results["services"].get("ours", {})
    return [
        _check("p50 ≤ 10 ms at concurrency 1", c1.get("p50_ms"), 10, "ms", at_most=True),
        _check("p99 ≤ 30 ms at concurrency 1", c1.get("p99_ms"), 30, "ms", at_most=True),
        # Issue 19 (dense ranking, as the stacks are compared).
        _check("dense p50 ≤ 8 ms at concurrency 1", c1.get("p50_ms"), 8, "ms", at_most=True),
        _check("dense p99 ≤ 20 ms at concurrency 1", c1.get("p99_ms"), 20, "ms", at_most=True),
        # Issue 17: what a request gets by default, hybrid ranking with highlights.
        _check(
            "hybrid + highlights p50 ≤ 15 ms at concurrency 1",
            default_c1.get("p50_ms"),
            15,
            "ms",
            at_most=True,
        ),
        _check(
            "hybrid + highlights p99 ≤ 40 ms at concurrency 1",
            default_c1.get("p99_ms"),
            40,
            "ms",
            at_most=True,
        ),
        _check("≥ 150 QPS at concurrency 8", c8.get("qps"), 150, "QPS", at_most=False),
        _check("p99 ≤ 100 ms at concurrency 8", c8.get("p99_ms"), 100, "ms", at_most=True),
        _check("≥ 5x naive QPS (concurrency 8)", results["ratios"].get("qps_c8"), 5, "x", False),
        _check("≥ 3x naive indexing", results["ratios"].get("indexing"), 3, "x", at_most=False),
        _check(
            "service RSS ≤ 1.5 GB (peak)",
            ours_service.get("peak_rss_mb"),
            RSS_LIMIT_MB,
            "MB",
            at_most=True,
        ),
        # Issue 17: what lexical search and highlights cost at indexing.
        _check(
            "indexing with BM25 terms and highlights ≥ 85% of dense-only passages/s",
            (results.get("demo") or {}).get("vs_dense_only"),
            0.85,
            "x",
            at_most=False,
        ),
        # Issue 19.
        _check(
            "demo corpus indexing ≥ 3x before issue 19 (`make run`'s start-up indexing, same run)",
            _vs_before(results, "start_up"),
            3,
            "x",
            at_most=False,
        ),
        _check(
            "whole verse corpus (154k) indexed in ≤ 15 min",
            _whole_corpus_minutes(results),
            15,
            "min",
            at_most=True,
        ),
        _check(
            "encoding ≥ 1.5x FastEmbed (same ONNX file, served texts per call)",
            _served_encode_ratio(results),
            1.5,
            "x",
            at_most=False,
        ),
    ]


def _search_name(phase: dict[str, Any]) -> str:
    return "hybrid + highlights" if phase.get("search") == SERVICE_DEFAULT else "dense"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table and the blank line after it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    meta, corpus = results["meta"], results["corpus"]
    lines = [
        f"# Benchmark: polyglot-search vs. FastEmbed and sentence-transformers + qdrant-client "
        "local"
        f"{' (smoke)' if meta['smoke'] else ''}",
        "",
        f"*{meta['note']}*",
        "",
        f"- Run: {meta['started']} → {meta['finished']} ({meta['seconds']:.0f} s)",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gb']:.0f} GB RAM",
        f"- Load before: `{meta['uptime_before']}`; cores {meta['cpu_busy_before']:.0%} busy "
        "in the seconds before the run",
        f"- Load after: `{meta['uptime_after']}`",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
        f"- Corpus: `{corpus['source']}`; encode and indexing figures on {corpus['passages']:,} "
        f"passages in {corpus['languages']} languages",
        f"- Search index: {corpus['searched_points']:,} points ({corpus['searched_passages']:,} "
        f"passages in {corpus['searched_languages']} languages, "
        f"{corpus['searched_store_mb']:,.0f} MB on disk); {corpus['queries']} queries in "
        f"{corpus['query_languages']} languages; filter `languages={corpus['filter_languages']}`"
        f" ({corpus['filtered_passages']:,} passages)",
        "",
        "## Goals (issues 5, 17 and 19)",
        "",
    ]
    lines += markdown_table(
        ["goal", "measured", "result"],
        [
            [g["goal"], g["measured"], {True: "PASS", False: "MISS", None: "-"}[g["pass"]]]
            for g in results["goals"]
        ],
    )
    lines += ["## Ratios (ours / the other stack)", ""]
    lines += [
        "`indexing`: over the naive stack; `*_vs_fastembed*`: over FastEmbed on the same ONNX "
        "file; `qps_*`: over the naive service.",
        "",
    ]
    lines += markdown_table(["figure", "ratio"], [[k, v] for k, v in results["ratios"].items()])
    lines += _limit_section(results)
    served = results.get("served") or {}
    lines += [
        "## Encode throughput (passages/s)",
        "",
        "*batch*: most texts per call (ours: sorted by length, and at most "
        f"{DEFAULT_BATCH_TOKENS} padded tokens per onnxruntime call; FastEmbed: in input order, "
        "padded to each batch's longest; naive: sentence-transformers' `batch_size`). Ours and "
        "FastEmbed run the same ONNX file with the same onnxruntime threads. Served and indexed "
        f"with: {served.get('variant', '-')}, {served.get('batch_size', '-')} per call. "
        "*of limit*: the share of the physical limit above.",
        "",
    ]
    lines += markdown_table(
        ["stack", "variant", "batch", "passages", "seconds", "passages/s", "of limit"],
        [
            [e["stack"], e["variant"], e["batch_size"], e["passages"], e["seconds"], e["per_s"],
             _share(e.get("of_limit"))]
            for e in results["encode"]
        ],
    )  # fmt: skip
    if results.get("agreement"):
        lines += [
            "FastEmbed's vectors against ours (one passage per call on both sides, so int8 "
            "scales each text alone in both; cosine):",
            "",
        ]
        lines += markdown_table(
            ["variant", "passages", "min cosine", "mean cosine"],
            [
                [a["variant"], a["passages"], f"{a['min_cosine']:.6f}", f"{a['mean_cosine']:.6f}"]
                for a in results["agreement"]
            ],
        )
    lines += [
        "## Indexing (read → chunk → encode → upsert)",
        "",
        "Ours: `python -m indexer`'s pipeline, "
        f"{served.get('encode_calls', '-')} encoder calls at once of "
        f"{served.get('threads_per_call', '-')} thread(s); FastEmbed: its `embed` (256 per "
        "batch) and an upsert per batch into the same store class (qdrant-edge), dense vectors "
        "only (ours also writes BM25 terms); naive: sentence-transformers into qdrant-client's "
        "local mode.",
        "",
    ]
    lines += markdown_table(
        ["stack", "records", "points", "seconds", "passages/s", "of limit"],
        [
            [s, f["records"], f["points"], f["seconds"], f["per_s"], _share(f.get("of_limit"))]
            for s, f in results["indexing"].items()
        ],
    )
    lines += _corpora_section(results)
    lines += ["## HTTP `POST /v1/search`", ""]
    rows = []
    for stack, service in results["services"].items():
        for p in service["load"]:
            errors = sum(p["errors"].values())
            rows.append(
                [stack, _search_name(p), p["concurrency"], "yes" if p["filtered"] else "no",
                 p["ok"], errors, p["qps"], p["p50_ms"], p["p95_ms"], p["p99_ms"]]
            )  # fmt: skip
    lines += [
        "*search*: `dense` asks both stacks for the same work (dense ranking; ours with "
        "`mode: dense, highlight: false`); `hybrid + highlights` is a request that names neither, "
        "so it gets the service's defaults. *ours-one-thread*: our service with "
        "`POLYSEARCH_SOLO_QUERY_THREADS=1`, every query on one thread (by default a query alone "
        "on the encoder runs on all the cores), at c=1 beside ours.",
        "",
    ]
    lines += markdown_table(
        ["stack", "search", "concurrency", "filter", "ok", "errors", "QPS", "p50 ms", "p95 ms",
         "p99 ms"],
        rows,
    )  # fmt: skip
    failures = [
        f"- {stack}, {_search_name(p)}, concurrency {p['concurrency']}: {p['failure']}"
        for stack, service in results["services"].items()
        for p in service["load"]
        if p.get("failure")
    ]
    if failures:
        lines += ["Phases that failed (see each service's log in the work dir):", "", *failures, ""]
    lines += [
        "## Where the time goes (ours, server side, ms per search)",
        "",
        "From the service's `/metrics`, before and after each phase: `server` is the request's "
        "time inside the service; `encode` the encoder's time per search (a call shared by "
        "concurrent queries counts once, split between them); `rest` is waiting for the "
        "encoder, parsing, validation and JSON. Client mean minus server is the HTTP path.",
        "",
    ]
    lines += markdown_table(
        ["search", "concurrency", "filter", "client mean", "server", "encode", "vector search",
         "rest", "ms per encoder call", "queries per call"],
        [
            [_search_name(p), p["concurrency"], "yes" if p["filtered"] else "no", p["mean_ms"],
             t["server_ms"], t["encode_ms"], t["vector_search_ms"], t["rest_ms"],
             t["encode_call_ms"], t["queries_per_encode_call"]]
            for p in results["services"]["ours"]["load"]
            if (t := p.get("server"))
        ],
    )  # fmt: skip
    lines += ["## Service start-up and memory", ""]
    lines += markdown_table(
        ["stack", "start-up to ready (s)", "RSS ready (MB)", "RSS after load (MB)", "peak (MB)"],
        [
            [s, v["startup_s"], v["rss_ready_mb"], v["rss_after_load_mb"], v["peak_rss_mb"]]
            for s, v in results["services"].items()
        ],
    )
    lines += [f"Service settings: `{results['service_env']}`", ""]
    return "\n".join(lines)


def _share(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.1%}"


def _limit_section(results: dict[str, Any]) -> list[str]:
    found = results.get("limit")
    if not found:
        return []
    shape = ModelShape(**found["shape"])
    peak = CpuPeak(**{k: v for k, v in found["peak"].items() if k != "macs_per_s"})
    limits = [
        Limit(**{k: v for k, v in lim.items() if k != "passages_per_s"})
        for lim in found["corpora"].values()
    ]
    lines = [
        "## Physical limit",
        "",
        "The most passages per second these cores could encode with this model, from its "
        "multiply-adds and the cores' int8 peak (`bench/limit.py`); each encode and indexing "
        "figure below shows its share of it.",
        "",
    ]
    return lines + describe(shape, peak, limits)


# The two ways a user indexes the demo corpus, as bench/before.py runs them.
WAY_LABELS = {"start_up": "`make run`'s start-up indexing", "indexer": "`python -m indexer`"}


def _vs_before(results: dict[str, Any], way: str) -> float | None:
    both = (results.get("demo") or {}).get("before_and_now") or {}
    times: float | None = both.get("vs_before", {}).get(way)
    return times


def _demo_rows(demo: dict[str, Any]) -> list[list[Any]]:
    """The demo corpus' other rows, where the run measured them: both ways of indexing it,
    before issue 19 and now; dense only, with today's graph and with the old int8 graph."""
    rows = []
    both = demo.get("before_and_now") or {}
    for way, label in WAY_LABELS.items():
        if before := both.get("before", {}).get(way):
            how = f"commit {both['commit'][:7]}'s code and models, same run"
            rows.append([f"demo corpus, {label}, before issue 19", before, how])
        elif reason := both.get("unavailable"):
            rows.append([f"demo corpus, {label}, before issue 19", None, reason])
        if now := both.get("now", {}).get(way):
            times = both.get("vs_before", {}).get(way, "-")
            rows.append([f"demo corpus, {label}", now, f"{times}x before issue 19"])
    if dense := demo.get("dense_only"):
        how = f"no BM25 terms, no highlight sentences; with them: {demo['vs_dense_only']}x of this"
        rows.append(["demo corpus, dense only", dense, how])
    if old := demo.get("old_graph"):
        how = (
            "the int8 graph before issue 19 (unfused, dynamic int8, one text per call); "
            f"today's: {demo['dense_only_vs_old_graph']}x of this"
        )
        rows.append(["demo corpus, dense only, old int8 graph", old, how])
    return [
        [label, *((f["points"], f["seconds"], f["per_s"]) if f else ("-",) * 3), how, "-"]
        for label, f, how in rows
    ]


def _corpora_section(results: dict[str, Any]) -> list[str]:
    demo, whole = results.get("demo"), results.get("whole_corpus")
    if not demo or not whole:
        return []
    lines = ["## The demo corpus and the whole verse corpus (ours)", ""]
    rows = [
        [
            "demo corpus (UDHR)" + ("" if demo["whole"] else ", a slice"),
            demo["points"],
            demo["seconds"],
            demo["per_s"],
            f"in process (`index_file`); issue 19 reported {demo['reported_per_s']}/s",
            _share(demo.get("of_limit")),
        ],
        *_demo_rows(demo),
        [
            "verse corpus",
            whole["points"],
            whole["seconds"],
            whole["per_s"],
            whole["how"],
            _share(whole.get("of_limit")),
        ],
    ]
    return lines + markdown_table(
        ["corpus", "passages", "seconds", "passages/s", "how", "of limit"], rows
    )


def write_report(results: dict[str, Any], out: Path, stem: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
    md_path.write_text(markdown(results), "utf-8")
    return json_path, md_path
