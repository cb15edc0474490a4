"""One benchmark run: both stacks, the same passages and queries, measured turn about."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.encoder import OnnxEncoder
from app.model_card import Variant
from app.settings import Settings, usable_cores
from bench import REPO_ROOT, machine, server_time
from bench.before import (
    BEFORE_ISSUE_19,
    WAYS,
    CommitUnavailableError,
    SourceTree,
    built_commit,
    index_one_way,
)
from bench.config import BenchConfig
from bench.corpus import Passage, read_passages, select_queries, take_passages, write_jsonl
from bench.encode_throughput import EncodeFigure, measure_encode, shuffled
from bench.fastembed_stack import FastEmbedEncoder, vector_agreement
from bench.indexing import (
    IndexFigure,
    index_fastembed,
    index_naive,
    index_ours,
    old_int8_encoder,
)
from bench.large_index import LargeIndex, ensure_large_index
from bench.limit import Limit, ModelShape, cpu_peak, limit_for, mean_tokens, with_measured_gemm
from bench.load import REQUEST_TIMEOUT_S, LoadResult
from bench.naive_stack import SentenceTransformerEncoder
from bench.report import (
    DENSE,
    SERVICE_DEFAULT,
    encode_ratios,
    goals,
    qps_ratios,
    ratio,
    write_report,
)
from bench.services import (
    RunningService,
    base_env,
    free_port,
    memory_mb,
    running_service,
    wait_idle,
)
from bench.verses import DEFAULT_OUT as DEFAULT_VERSES
from bench.verses import write_corpus as write_verses
from indexer.pipeline import indexing_encoder
from indexer.registry import DEFAULT_CACHE
from indexer.udhr import DEFAULT_CORPUS, ensure_corpus

COLLECTION = "bench"
# The demo corpus' indexing speed that issue 19 reported: a fresh `make run` indexed its 15,803
# passages in 6 min 12 s on 2 cores. Context only: issue 19's goal is read against the commit
# before it, run in the same benchmark (bench/before.py).
DEMO_REPORTED_PER_S = 15_803 / 372
BUSY = (
    "Provisional figures: the machine was busy with other work (see the load lines). Ratios "
    "between the stacks, measured in the same run, travel better than the absolute figures."
)
QUIET = "Ratios between the stacks are measured in the same run, on the same data."


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _disk_bytes(directory: Path) -> int:
    """What a store takes on disk (vectors, HNSW graph, payloads, write-ahead log)."""
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())


def _row(figure: EncodeFigure | IndexFigure) -> dict[str, Any]:
    return {
        **asdict(figure),
        "seconds": round(figure.seconds, 3),
        "per_s": round(figure.passages_per_s, 2),
    }


def _settings(config: BenchConfig) -> Settings:
    return Settings(models_dir=config.model_dir.parent, model=config.model_dir.name)


def measure_encoders(
    config: BenchConfig,
    texts: list[str],
    naive: SentenceTransformerEncoder,
    fastembed: dict[Variant, FastEmbedEncoder],
    threads: int,
) -> list[dict[str, Any]]:
    """Per batch size: each ONNX variant run by the project and by FastEmbed (the same file,
    the same texts per call, the same onnxruntime threads), then torch."""
    onnx = {v: OnnxEncoder(config.model_dir, v, threads=threads) for v in fastembed}
    rows: list[dict[str, Any]] = []
    for batch_size in config.batch_sizes:
        for variant, encoder in onnx.items():

            def run_onnx(batch: Sequence[str], size: int, encoder: OnnxEncoder = encoder) -> object:
                encoder.batch_size = size
                return encoder.encode(batch, "passage")

            def run_fastembed(
                batch: Sequence[str], size: int, theirs: FastEmbedEncoder = fastembed[variant]
            ) -> object:
                return theirs.encode(batch, "passage", batch_size=size)

            for stack, run in (("ours", run_onnx), ("fastembed", run_fastembed)):
                figure = measure_encode(
                    stack, f"onnx-{variant}", run, texts, batch_size, config.encode_budget_s
                )
                rows.append(_row(figure))
                _log(f"encode {stack} onnx-{variant} b={batch_size}: {figure.passages_per_s:.1f}/s")
        figure = measure_encode(
            "naive",
            "torch-fp32",
            lambda batch, size: naive.encode(batch, "passage", batch_size=size),
            texts,
            batch_size,
            config.encode_budget_s,
        )
        rows.append(_row(figure))
        _log(f"encode naive torch-fp32 b={batch_size}: {figure.passages_per_s:.1f}/s")
    return rows


def _with_fraction(row: dict[str, Any], limit: Limit) -> dict[str, Any]:
    return {**row, "of_limit": round(limit.fraction(row["per_s"]), 4)}


def measure_demo(
    config: BenchConfig, served: OnnxEncoder, encode_calls: int
) -> tuple[dict[str, Any], list[str]]:
    """The demo corpus (all of it, or the smoke run's slice) indexed by `python -m indexer`'s
    pipeline into a fresh store; returns the figure and the texts (for the limit)."""
    demo = ensure_corpus(DEFAULT_CORPUS, DEFAULT_CACHE)
    passages = read_passages(demo)
    if config.demo_passages is not None:
        passages = take_passages(passages, config.demo_passages)
    source = write_jsonl(passages, config.work_dir / "demo.jsonl")
    store = config.work_dir / "demo-store"
    figure = index_ours(source, served, store, COLLECTION, encode_calls)
    # The same corpus without BM25 terms and highlight sentences: what they cost at indexing.
    dense = index_ours(source, served, store, COLLECTION, encode_calls, dense_only=True)
    # Dense only again, with the int8 graph of before issue 19 (one text per call): the share of
    # the gain that the graph and batching give, the rest being the pipelined writer's.
    old_encoder = old_int8_encoder(config.model_dir, config.work_dir / "old-int8", served.threads)
    old_graph = index_ours(source, old_encoder, store, COLLECTION, encode_calls, dense_only=True)
    row = {
        **_row(figure),
        "corpus": str(demo),
        "whole": config.demo_passages is None,
        "reported_per_s": round(DEMO_REPORTED_PER_S, 1),
        "dense_only": _row(dense),
        "vs_dense_only": ratio(figure.passages_per_s, dense.passages_per_s),
        "old_graph": _row(old_graph),
        "dense_only_vs_old_graph": ratio(dense.passages_per_s, old_graph.passages_per_s),
        "before_and_now": measure_before_and_now(config, source),
    }
    return row, [p.text for p in passages]


def measure_before_and_now(config: BenchConfig, source: Path) -> dict[str, Any]:
    """`source` indexed by the commit before issue 19 (its own code and models) and by this
    tree, each way of `bench.before.WAYS`, old then new (the pair minutes apart); the commit's
    figures are missing, with the reason, where this clone lacks it."""
    model = config.model_dir.name
    work = config.work_dir / "before-issue-19"
    now_tree = SourceTree(REPO_ROOT, config.model_dir.parent, model)
    row: dict[str, Any] = {"commit": BEFORE_ISSUE_19}
    with ExitStack() as stack:
        try:
            before_tree: SourceTree | None = stack.enter_context(
                built_commit(BEFORE_ISSUE_19, work, model)
            )
        except CommitUnavailableError as error:
            row["unavailable"] = str(error)
            _log(f"indexing before issue 19 not measured: {error}")
            before_tree = None
        for way in WAYS:
            before = (
                index_one_way(way, before_tree, source, work / "before") if before_tree else None
            )
            now = index_one_way(way, now_tree, source, work / "now")
            row.setdefault("now", {})[way] = _row(now)
            message = f"{way}: now {now.passages_per_s:.1f}/s"
            if before:
                row.setdefault("before", {})[way] = _row(before)
                row.setdefault("vs_before", {})[way] = ratio(
                    now.passages_per_s, before.passages_per_s
                )
                message += f", before issue 19 {before.passages_per_s:.1f}/s"
            _log(message)
    return row


def whole_verses(
    config: BenchConfig,
    served: OnnxEncoder,
    encode_calls: int,
    large: LargeIndex | None,
    source: Path,
) -> tuple[dict[str, Any], list[str]]:
    """The whole verse corpus' indexing time: measured when this run (or the earlier one whose
    index it reuses) indexed it whole; otherwise projected from a slice indexed now."""
    verses = DEFAULT_VERSES
    if not verses.is_file():
        write_verses(verses)
    passages = read_passages(verses)
    total = len(passages)
    measured = large is not None and source.resolve() == verses.resolve() and not config.smoke
    if measured and large is not None:
        row: dict[str, Any] = {
            "passages": total,
            "points": large.points,
            "seconds": round(large.build_s, 1),
            "per_s": round(large.points / large.build_s, 2) if large.build_s else 0.0,
            "how": "measured" + (f" (index built {large.built}, reused)" if large.reused else ""),
        }
        return row, [p.text for p in passages]
    part = take_passages(passages, config.verse_slice)
    figure = index_ours(
        write_jsonl(part, config.work_dir / "verses-slice.jsonl"),
        served,
        config.work_dir / "verses-store",
        COLLECTION,
        encode_calls,
    )
    per_s = figure.passages_per_s
    row = {
        "passages": total,
        "points": total,
        "seconds": round(total / per_s, 1) if per_s else None,
        "per_s": round(per_s, 2),
        "how": f"projected from {figure.points:,} verses indexed in {figure.seconds:.1f} s "
        "(without the HNSW build a whole corpus adds at its end)",
    }
    return row, [p.text for p in part]


# Our service with every query on one thread (no solo queries, app/encode_queue.py), measured
# at c=1 beside ours: what a query alone on all the cores gains, side by side.
ONE_THREAD = "ours-one-thread"
# What each stack is asked for in the phases that compare the stacks: the same work (dense
# ranking, no highlights); the naive service knows no such fields.
OURS_DENSE = ["--mode", "dense", "--no-highlight"]
COMPARED_SEARCH = {"ours": OURS_DENSE, ONE_THREAD: OURS_DENSE, "naive": []}


def load_phase(
    config: BenchConfig,
    url: str,
    queries_file: Path,
    concurrency: int,
    languages: list[str],
    search_args: Sequence[str] = (),
) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "bench.load", url,
        "--queries", str(queries_file),
        "--concurrency", str(concurrency),
        "--duration", str(config.duration_s),
        "--max-requests", str(config.max_requests),
        "--top-k", str(config.top_k),
        "--languages", ",".join(languages),
        "--warmup", str(config.warmup_requests),
        *search_args,
    ]  # fmt: skip
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=config.duration_s + 2 * REQUEST_TIMEOUT_S + 60,
    )
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return _failed_phase(concurrency, languages, f"bench.load failed: {last_line}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _failed_phase(concurrency: int, languages: list[str], failure: str) -> dict[str, Any]:
    """A phase that measured nothing, in the shape of `bench.load`'s result, with the reason."""
    return {
        **asdict(LoadResult(concurrency, bool(languages))),
        "qps": None,
        "failure": failure,
    }


Launch = tuple[list[str], dict[str, str]]  # command line and environment of a service


@dataclass(frozen=True)
class SearchStores:
    ours: Path  # qdrant-edge data dir
    naive: Path  # qdrant-client local path
    points: int
    build_s: float  # encode + upsert of every point, both stores written at once
    reused: bool = False  # built by an earlier run


def _ours_launch(config: BenchConfig, stores: SearchStores, port: int) -> Launch:
    """`python -m app` on the store the project's indexer wrote."""
    env = {**base_env(), **_ours_settings(config, port, stores.ours)}
    return [sys.executable, "-m", "app"], env


def _one_thread_launch(config: BenchConfig, stores: SearchStores, port: int) -> Launch:
    """Ours with every query on one thread, on a copy of our store (an embedded store serves
    one process at a time)."""
    copy = config.work_dir / "ours-one-thread-store"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(stores.ours, copy)
    command, env = _ours_launch(config, replace(stores, ours=copy), port)
    return command, {**env, "POLYSEARCH_SOLO_QUERY_THREADS": "1"}


def _naive_launch(config: BenchConfig, stores: SearchStores, port: int) -> Launch:
    command = [
        sys.executable, "-m", "bench.naive_service", "--port", str(port),
        "--model-dir", str(config.model_dir.resolve()),
        "--store", str(stores.naive.resolve()), "--collection", COLLECTION,
    ]  # fmt: skip
    return command, base_env()


def _ours_settings(config: BenchConfig, port: int, data_dir: Path) -> dict[str, str]:
    return {
        "POLYSEARCH_MODELS_DIR": str(config.model_dir.parent.resolve()),
        "POLYSEARCH_MODEL": config.model_dir.name,
        "POLYSEARCH_DATA_DIR": str(data_dir.resolve()),
        "POLYSEARCH_DEFAULT_COLLECTION": COLLECTION,
        "POLYSEARCH_HOST": "127.0.0.1",
        "POLYSEARCH_PORT": str(port),
        # Admit every client of the busiest phase: the load test measures capacity, not the
        # backpressure that refuses callers beyond the queue (a 503 storm is not throughput).
        "POLYSEARCH_ENCODE_QUEUE_SIZE": str(max(config.concurrencies)),
        "POLYSEARCH_LOG_FORMAT": "text",
    }


def measure_services(
    config: BenchConfig, stores: SearchStores, queries_file: Path, filter_languages: list[str]
) -> dict[str, dict[str, Any]]:
    """Both services up at once (idle while the other is measured), phases alternating between
    them, so that both meet the same background load on a shared machine. A third, ours with
    every query on one thread, takes the unfiltered dense phase at c=1 only."""
    launches = {"ours": _ours_launch, ONE_THREAD: _one_thread_launch, "naive": _naive_launch}
    figures: dict[str, dict[str, Any]] = {}
    with ExitStack() as services:
        running: dict[str, RunningService] = {}
        for stack, launch in launches.items():
            port = free_port()
            command, env = launch(config, stores, port)
            log = config.work_dir / f"{stack}-service.log"
            service = services.enter_context(
                running_service(stack, command, env, port, log, config.start_timeout_s)
            )
            running[stack] = service
            ready = memory_mb(service.pid)
            figures[stack] = {
                "startup_s": round(service.startup_s, 2),
                "rss_ready_mb": ready["rss_mb"],
                "rss_after_load_mb": None,
                "peak_rss_mb": ready["peak_rss_mb"],
                "load": [],
            }
            _log(f"{stack} service ready in {service.startup_s:.1f} s, {ready['rss_mb']} MB")
        phases = [
            (stack, concurrency, languages, DENSE)
            for concurrency in config.concurrencies
            for languages in ([], filter_languages)
            for stack in running
            if stack != ONE_THREAD or (concurrency == 1 and not languages)
        ]
        # What a user gets by default (hybrid ranking with highlights), ours alone, at c=1: next
        # to the other c=1 phases, before any phase at higher concurrency can leave a backlog.
        unfiltered_c1 = sum(1 for _, c, languages, _ in phases if c == 1 and not languages)
        phases.insert(unfiltered_c1, ("ours", 1, [], SERVICE_DEFAULT))
        for stack, concurrency, languages, search in phases:
            service = running[stack]
            if (code := service.exit_code()) is not None:
                figures[stack]["load"].append(
                    {**_failed_phase(concurrency, languages, exit_reason(code)), "search": search}
                )
                continue
            alive = [each.pid for each in running.values() if each.exit_code() is None]
            waited = wait_idle(alive)
            if waited > 2:
                _log(f"waited {waited:.0f} s for both services to go idle before the next phase")
            ours = stack == "ours"  # only our service has /metrics (the twin's: not reported)
            before = server_time.scrape(service.url) if ours else {}
            search_args = COMPARED_SEARCH[stack] if search == DENSE else []
            phase = load_phase(
                config, service.url, queries_file, concurrency, languages, search_args
            )
            phase["search"] = search
            phase["idle_wait_s"] = round(waited, 1)
            if (code := service.exit_code()) is None:
                if ours:
                    after = server_time.scrape(service.url)
                    phase["server"] = server_time.breakdown(before, after)
                figures[stack].update(_memory_after_load(service.pid))
            else:
                phase["failure"] = exit_reason(code)
                figures[stack]["exited"] = f"{phase['failure']}; log tail:\n{service.log_tail()}"
                _log(f"{stack}: {phase['failure']}; its later phases are not measured")
            figures[stack]["load"].append(phase)
            _log(
                f"{stack} {search} c={concurrency} filter={bool(languages)}: {phase['qps']} QPS, "
                f"p50 {phase['p50_ms']} ms, p99 {phase['p99_ms']} ms, errors {phase['errors']}"
            )
    return figures


def exit_reason(code: int) -> str:
    killed = " (killed: out of memory?)" if code == -signal.SIGKILL else ""
    return f"service exited with {code}{killed}"


def _memory_after_load(pid: int) -> dict[str, float]:
    """RSS after the latest phase and the peak so far: read after every phase, so that a
    service that dies later still reports what it held while it ran."""
    memory = memory_mb(pid)
    return {"rss_after_load_mb": memory["rss_mb"], "peak_rss_mb": memory["peak_rss_mb"]}


def _filter_languages(config: BenchConfig, passages: Sequence[Passage]) -> list[str]:
    present = {p.lang for p in passages if p.lang}
    chosen = [lang for lang in config.filter_languages if lang in present]
    return chosen or sorted(present)[:1]


def _note(config: BenchConfig, busy_before: float) -> str:
    if config.smoke:
        return "Smoke run: checks the harness, not the figures."
    return BUSY if busy_before > 0.25 else QUIET


def _meta(
    config: BenchConfig, started: datetime, uptime_before: str, busy_before: float
) -> dict[str, Any]:
    finished = datetime.now(UTC)
    return {
        "smoke": config.smoke,
        "note": _note(config, busy_before),
        "cpu_busy_before": round(busy_before, 3),  # share of all cores busy just before
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 1),
        "cpu": machine.cpu_name(),
        "cores": os.cpu_count(),
        "memory_gb": round(machine.memory_gb(), 1),
        "uptime_before": uptime_before,
        "uptime_after": machine.uptime(),
        "versions": machine.versions(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
    }


def run_benchmark(config: BenchConfig) -> tuple[Path, Path]:
    started = datetime.now(UTC)
    uptime_before = machine.uptime()
    busy_before = machine.busy_share(1.0 if config.smoke else 5.0)
    _log(f"machine load: {uptime_before}; cores {busy_before:.0%} busy just before")
    work = config.work_dir
    source = config.corpus or ensure_corpus(DEFAULT_CORPUS, DEFAULT_CACHE)
    passages = take_passages(read_passages(source), config.passages)
    # A name of its own: --corpus may lie in the work dir and must not be overwritten.
    subset = write_jsonl(passages, work / "slice.jsonl")
    query_pairs = select_queries(config.queries)
    queries = [text for _, text in query_pairs]
    queries_file = work / "queries.json"
    queries_file.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    settings = _settings(config)
    encode_calls = settings.encode_calls
    served = indexing_encoder(settings)  # what `python -m indexer` uses, with as many calls
    limit = served.card.max_seq_length
    texts = shuffled([p.text for p in passages if served.count_tokens(p.text, "passage") <= limit])
    naive = SentenceTransformerEncoder(config.model_dir)
    threads = settings.encoder_threads or usable_cores()
    variants: tuple[Variant, ...] = ("fp32", "int8")
    fastembed = {
        v: FastEmbedEncoder(config.model_dir, v, work / "fastembed", threads) for v in variants
    }

    sample = texts[: config.agreement_passages]
    agreement = [
        asdict(vector_agreement(OnnxEncoder(config.model_dir, v), fastembed[v], sample))
        for v in fastembed
    ]
    _log(f"FastEmbed vs ours, one passage per call: {agreement}")
    _log(f"encode throughput on {len(texts)} passages")
    # The texts per call the project serves with are always among those measured (the goal
    # against FastEmbed is read there).
    config = replace(config, batch_sizes=tuple(sorted({*config.batch_sizes, served.batch_size})))
    encode_rows = measure_encoders(config, texts, naive, fastembed, threads)
    _log(f"indexing {len(passages)} passages")
    ours_index = index_ours(subset, served, work / "ours-store", COLLECTION, encode_calls)
    _log(f"indexing ours: {ours_index.passages_per_s:.1f} passages/s")
    fastembed_index = index_fastembed(
        subset, fastembed[served.variant], work / "fastembed-store", COLLECTION
    )
    _log(f"indexing fastembed: {fastembed_index.passages_per_s:.1f} passages/s")
    naive_index = index_naive(subset, naive, work / "naive-store", COLLECTION)
    _log(f"indexing naive: {naive_index.passages_per_s:.1f} passages/s")
    del naive, fastembed  # free the bench process' models before the services start
    demo, demo_texts = measure_demo(config, served, encode_calls)
    _log(
        f"demo corpus: {demo['points']:,} passages at {demo['per_s']:.1f}/s, dense only "
        f"{demo['dense_only']['per_s']:.1f}/s"
    )

    searched = passages
    stores = SearchStores(
        work / "ours-store", work / "naive-store", ours_index.points, ours_index.seconds
    )
    large: LargeIndex | None = None
    if config.search_whole_corpus:
        searched = read_passages(source)
        _log(f"search index: all {len(searched):,} passages of {source} (built once, reused)")
        large = ensure_large_index(source, served, work / "whole-corpus", COLLECTION, encode_calls)
        stores = SearchStores(large.ours, large.naive, large.points, large.build_s, large.reused)
        if not large.reused:
            _log(f"search index built in {large.build_s / 60:.1f} min")
    verses, verse_texts = whole_verses(config, served, encode_calls, large, source)
    _log(f"whole verse corpus: {verses['seconds']} s ({verses['how']})")
    shape = ModelShape.of(served.card)
    peak = with_measured_gemm(cpu_peak(), shape)
    limits = {
        "slice": limit_for("benchmark slice", shape, mean_tokens(served, texts), peak),
        "demo": limit_for("demo corpus (UDHR)", shape, mean_tokens(served, demo_texts), peak),
        "verses": limit_for("verse corpus", shape, mean_tokens(served, verse_texts), peak),
    }
    served_setup = {
        "variant": served.variant,
        "batch_size": served.batch_size,
        "encode_calls": encode_calls,
        "threads_per_call": served.threads,
    }
    del served
    filter_languages = _filter_languages(config, searched)
    services = measure_services(config, stores, queries_file, filter_languages)

    results: dict[str, Any] = {
        "meta": _meta(config, started, uptime_before, busy_before),
        "corpus": {
            "source": str(source),
            "passages": len(passages),
            "languages": len({p.lang for p in passages}),
            "searched_passages": len(searched),
            "searched_points": stores.points,
            "searched_store_mb": round(_disk_bytes(stores.ours) / 2**20, 1),
            "searched_index_build_s": round(stores.build_s, 1),
            "searched_index_reused": stores.reused,
            "searched_languages": len({p.lang for p in searched}),
            "queries": len(queries),
            "query_languages": len({lang for lang, _ in query_pairs}),
            "filter_languages": filter_languages,
            "filtered_passages": sum(p.lang in filter_languages for p in searched),
        },
        "encode": [_with_fraction(row, limits["slice"]) for row in encode_rows],
        "agreement": agreement,
        "indexing": {
            stack: _with_fraction(_row(figure), limits["slice"])
            for stack, figure in (
                ("ours", ours_index), ("fastembed", fastembed_index), ("naive", naive_index)
            )
        },
        "demo": _with_fraction(demo, limits["demo"]),
        "whole_corpus": _with_fraction(verses, limits["verses"]),
        "limit": {
            "shape": asdict(shape),
            "peak": {**asdict(peak), "macs_per_s": peak.macs_per_s},
            "corpora": {name: lim.as_dict() for name, lim in limits.items()},
        },
        "served": served_setup,
        "services": services,
        "service_env": {
            k: v
            for k, v in _ours_settings(config, 0, work).items()
            if "DIR" not in k and "PORT" not in k
        },
    }  # fmt: skip
    results["ratios"] = {
        **qps_ratios(results, config.concurrencies),
        "indexing": ratio(ours_index.passages_per_s, naive_index.passages_per_s),
        "indexing_vs_fastembed": ratio(ours_index.passages_per_s, fastembed_index.passages_per_s),
        **encode_ratios(results["encode"]),
    }
    results["goals"] = [goal.as_dict() for goal in goals(results)]
    return write_report(results, config.out, "smoke" if config.smoke else "results")
