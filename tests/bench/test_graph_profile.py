"""`python -m bench.graph_profile` on the packaged model's served int8 graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.model_card import ModelCard
from bench.graph_profile import op_times, render


def test_profile_shares_the_int8_graphs_kernel_time_by_op(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the profiler's trace file is written here, then removed
    graph = model_dir / ModelCard.load(model_dir).onnx_files["int8"]
    per_op = op_times(graph, batch=2, tokens=8, runs=1)
    assert list(tmp_path.iterdir()) == []
    assert list(per_op.values()) == sorted(per_op.values(), reverse=True)
    assert {"MatMulIntegerToFloat", "MultiHeadAttention", "QuantizeLinear"} <= set(per_op)
    assert "MatMulInteger" not in per_op  # builder v5 rescales inside the integer GEMM
    table = render(per_op)
    assert table.splitlines()[2].startswith(f"| {next(iter(per_op))} |")  # the costliest first
    assert table.endswith(f"| all | 100% | {sum(per_op.values()):.1f} |")
