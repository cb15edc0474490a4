"""Capacity arithmetic (bench/capacity.py) from a benchmark's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.capacity import BEGIN, END, capacity_lines, main, ram_bytes_per_vector, rewrite_block


def _results(smoke: bool = False) -> dict[str, Any]:
    def phase(concurrency: int, qps: float, filtered: bool = False) -> dict[str, Any]:
        return {"concurrency": concurrency, "filtered": filtered, "qps": qps, "p99_ms": 40.0}

    return {
        "meta": {
            "cores": 2, "cpu": "Test CPU", "started": "2026-01-01T00:00:00+00:00",
            "note": "Quiet.", "smoke": smoke,
        },
        "corpus": {
            "searched_points": 100_000,
            "searched_store_mb": 200.0,  # 2,097 bytes per point
            "searched_index_build_s": 1_000.0,  # 100 passages/s
        },
        "indexing": {"ours": {"per_s": 120.0}},
        "services": {
            "ours": {
                "peak_rss_mb": 900.0,
                "load": [phase(1, 50.0), phase(8, 80.0), phase(8, 95.0, True), phase(32, 90.0)],
            }
        },
    }  # fmt: skip


def test_ram_per_vector_is_the_vector_plus_level_zero_links() -> None:
    assert ram_bytes_per_vector(384, 4) == 384 * 4 + 32 * 4
    assert ram_bytes_per_vector(384, 1) == 384 + 128


def test_tables_follow_from_the_measured_figures() -> None:
    text = "\n".join(capacity_lines(_results(), "results.json"))
    assert "80.0 QPS at concurrency 8" in text  # the unfiltered phase
    assert "best 95.0 QPS at concurrency 8" in text
    assert "2,097 bytes per point" in text
    assert "| 1,000 | 13 |" in text  # ceil(1000 / 80) API nodes
    # 10M passages at 100/s: 27.8 h on one job, 6.94 h on four.
    assert "| 10M | 27.8 | 6.94 | 1.74 | 0.43 |" in text
    assert "| 100M | 278 | 69.4 | 17.4 | 4.34 |" in text


def test_only_the_block_between_the_markers_is_rewritten() -> None:
    document = f"# Scaling\n\nprose before\n\n{BEGIN}\nold\n{END}\n\nprose after\n"
    rewritten = rewrite_block(document, [BEGIN, "new", END])
    assert rewritten == f"# Scaling\n\nprose before\n\n{BEGIN}\nnew\n{END}\n\nprose after\n"
    with pytest.raises(ValueError, match="markers"):
        rewrite_block("# no markers", [BEGIN, END])


def test_a_smoke_run_is_refused(tmp_path: Path) -> None:
    results = tmp_path / "smoke.json"
    results.write_text(json.dumps(_results(smoke=True)))
    doc = tmp_path / "scaling.md"
    doc.write_text(f"{BEGIN}\n{END}\n")
    with pytest.raises(SystemExit):
        main(["--results", str(results), "--doc", str(doc)])
    assert doc.read_text() == f"{BEGIN}\n{END}\n"
