"""Capacity arithmetic from one measured single-node benchmark run.

`python -m bench.capacity [--results docs/bench/results.json] [--doc docs/scaling.md]` turns the
figures `make bench` measured (QPS, indexing rate, store size, service memory) into the
planning tables of docs/scaling.md, rewriting only the block between its markers, so that the
tables always come from a run anyone can repeat.

Memory per vector is arithmetic, not a measurement: Qdrant keeps each vector (4 bytes per
dimension in fp32, 1 with scalar int8 quantisation, the originals then on disk for rescoring)
and the HNSW graph's level-0 links (2·m of 4 bytes, m = 16 by default) in RAM. Payloads (the
passage text) and the write-ahead log live on disk; the measured store size per point covers
them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.settings import DEFAULT_QUANTIZATION, Quantization
from bench.report import find_load, markdown_table

BEGIN = "<!-- capacity:begin (python -m bench.capacity) -->"
END = "<!-- capacity:end -->"
DIM = 384  # multilingual-e5-small and its students
HNSW_M = 16  # Qdrant's default
LINK_BYTES = 2 * HNSW_M * 4  # level-0 neighbour ids; upper levels add ~1/m of that
CORPUS_SIZES = (10_000_000, 100_000_000)
JOBS = (1, 4, 16, 64)
TARGET_QPS = (100, 1_000, 10_000)
GIB = 2**30


def ram_bytes_per_vector(dim: int, bytes_per_dim: float) -> float:
    return dim * bytes_per_dim + LINK_BYTES


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def _phase(results: dict[str, Any], concurrency: int) -> dict[str, Any]:
    phase = find_load(results, "ours", concurrency, filtered=False)
    if phase is None:
        raise ValueError(f"the results hold no unfiltered dense phase at concurrency {concurrency}")
    return phase


def capacity_lines(results: dict[str, Any], source: str) -> list[str]:
    """The generated part of docs/scaling.md."""
    corpus, meta = results["corpus"], results["meta"]
    points = corpus["searched_points"]
    disk_per_point = corpus["searched_store_mb"] * 2**20 / points
    index_rate = points / corpus["searched_index_build_s"]
    reused = corpus.get("searched_index_reused", False)
    busiest = max(results["services"]["ours"]["load"], key=lambda p: p["qps"] or 0.0)
    c8 = _phase(results, 8)
    rss = results["services"]["ours"]["peak_rss_mb"]

    lines = [
        BEGIN,
        "",
        f"From `{source}`: {meta['cores']} cores ({meta['cpu']}), run {meta['started']}. "
        f"{meta['note']}",
        "",
        "Measured on one node:",
        "",
        f"- search: {_number(c8['qps'])} QPS at concurrency 8 (p99 {_number(c8['p99_ms'])} ms), "
        f"best {_number(busiest['qps'])} QPS at concurrency {busiest['concurrency']}, over "
        f"{points:,} points;",
        f"- indexing: {_number(index_rate)} passages/s for the whole {points:,}-point corpus "
        "(read, chunk, encode, upsert"
        + ("; built by an earlier run with the same encoder setup" if reused else "")
        + f"), {_number(results['indexing']['ours']['per_s'])} passages/s on the benchmark slice;",
        f"- store on disk: {disk_per_point:,.0f} bytes per point (vector, graph, payload with "
        "the passage text, write-ahead log);",
        f"- service memory: {rss:,.0f} MB peak RSS with that corpus loaded (model included).",
        "",
        f"### Vectors per GiB of RAM ({DIM} dimensions, HNSW m={HNSW_M})",
        "",
    ]
    storage: list[tuple[Quantization | None, str, float]] = [
        ("none", "fp32 vectors in RAM", 4.0),
        ("int8", "scalar int8 quantisation, originals on disk for rescoring", 1.0),
        (None, "binary quantisation (needs oversampling + rescoring)", 1 / 8),  # not offered
    ]
    rows = []
    for quantization, label, per_dim in storage:
        name = f"{label} (default)" if quantization == DEFAULT_QUANTIZATION else label
        per_vector = ram_bytes_per_vector(DIM, per_dim)
        rows.append(
            [
                name,
                f"{per_vector:,.0f}",
                f"{GIB / per_vector / 1e6:,.2f} M",
                f"{CORPUS_SIZES[0] * per_vector / GIB:,.1f}",
                f"{CORPUS_SIZES[1] * per_vector / GIB:,.0f}",
            ]
        )
    lines += markdown_table(
        ["storage", "RAM bytes/vector", "vectors/GiB", "GiB for 10M", "GiB for 100M"], rows
    )
    lines += [
        f"Disk at the measured {disk_per_point:,.0f} bytes per point: "
        + ", ".join(
            f"{CORPUS_SIZES[i] * disk_per_point / GIB:,.0f} GiB for {label}"
            for i, label in enumerate(("10M", "100M"))
        )
        + " (per replica).",
        "",
        "### Query nodes",
        "",
        f"Query encoding dominates the cost of a search, so QPS grows with API replicas (each a "
        f"{meta['cores']}-core node like this one, stateless, all pointing at the cluster via "
        "`QDRANT_URL`):",
        "",
    ]
    lines += markdown_table(
        ["target QPS", f"API nodes at {_number(c8['qps'])} QPS each"],
        [[f"{target:,}", math.ceil(target / c8["qps"])] for target in TARGET_QPS],
    )
    lines += [
        "### Indexing time",
        "",
        f"Hours at {_number(index_rate)} passages/s per job, jobs on separate "
        f"{meta['cores']}-core machines splitting the input with `--shard i/n` (encoding is the "
        "bottleneck; the cluster's upserts are not):",
        "",
    ]
    lines += markdown_table(
        ["passages", *(f"{n} job{'s' if n > 1 else ''}" for n in JOBS)],
        [
            [f"{size // 1_000_000}M", *(_number(size / (index_rate * n) / 3600) for n in JOBS)]
            for size in CORPUS_SIZES
        ],
    )
    lines += [END]
    return lines


def rewrite_block(document: str, block: Sequence[str]) -> str:
    """`document` with the text between the markers (markers included) replaced by `block`."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document lacks the markers {BEGIN!r} ... {END!r}")
    return document[:start] + "\n".join(block) + document[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--results", type=Path, default=Path("docs/bench/results.json"))
    parser.add_argument("--doc", type=Path, default=Path("docs/scaling.md"))
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    if results["meta"]["smoke"]:
        parser.error(f"{args.results} is a smoke run: its figures say nothing about capacity")
    block = capacity_lines(results, str(args.results))
    args.doc.write_text(rewrite_block(args.doc.read_text(encoding="utf-8"), block), "utf-8")
    print("\n".join(block))
    print(f"updated {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
