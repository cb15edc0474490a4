"""`python -m bench.graph_profile MODEL.onnx`: where an encoder graph spends its kernel time.

Runs the graph on one batch (`--batch` texts of `--tokens` tokens, random ids, no padding) in
one onnxruntime thread with its profiler on, and prints each op type's share of the summed
kernel time and its milliseconds per run. Shares are what to compare: the milliseconds move
with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort

WARM_UP_RUNS = 1


def op_times(model: Path, batch: int, tokens: int, runs: int) -> dict[str, float]:
    """Kernel milliseconds per run of each op type, most first (after one warm-up run)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(Path.cwd() / "graph_profile")
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(0).integers(1_000, 100_000, (batch, tokens), dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    for _ in range(WARM_UP_RUNS + runs):
        session.run(None, feeds)
    trace = Path(session.end_profiling())
    try:
        events = json.loads(trace.read_text())
    finally:
        trace.unlink()
    model_runs = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    timed_from = model_runs[WARM_UP_RUNS]
    per_op: Counter[str] = Counter()
    kernels = (e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"))
    for event in kernels:
        if event["ts"] >= timed_from:
            per_op[event["args"]["op_name"]] += event["dur"] / 1_000 / runs
    return dict(per_op.most_common())


def render(per_op: dict[str, float]) -> str:
    total = sum(per_op.values())
    lines = ["| op | share | ms per run |", "|---|---|---|"]
    lines += [f"| {op} | {ms / total:.1%} | {ms:.1f} |" for op, ms in per_op.items()]
    return "\n".join([*lines, f"| all | 100% | {total:.1f} |"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_profile", description=__doc__)
    parser.add_argument("model", type=Path, help="an encoder ONNX file")
    parser.add_argument("--batch", type=int, default=32, help="texts per run")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per text")
    parser.add_argument("--runs", type=int, default=4, help="timed runs")
    args = parser.parse_args(argv)
    print(render(op_times(args.model, args.batch, args.tokens, args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
