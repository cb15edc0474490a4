"""The physical limit of encoding on this machine: multiply-adds per passage against the peak
int8 multiply-adds per second of its cores.

No encoder can beat `peak_macs_per_s / macs_per_passage` passages per second; each encode and
indexing figure of the benchmark is shown as a fraction of it, so "fast" has a yardstick that
does not move with the competition.

The count (per passage of `tokens` tokens, prefix and special tokens included; one passage per
call, so no padding):

- per layer, the four attention projections (Q, K, V, output): 4 x tokens x hidden^2;
- the feed-forward block: 2 x tokens x hidden x intermediate;
- attention itself, QK^T and the weighted sum of V, over all heads: 2 x tokens^2 x hidden;
- times the layers. Embedding look-ups, LayerNorm, GELU, softmax and pooling do no
  multiply-adds worth counting (under 1%).

The peak, counted: AVX-512 VNNI's `vpdpbusd` does 16 lanes x 4 int8 multiply-adds = 64 per
512-bit instruction; assumed 2 such instructions per cycle per core (two FMA-capable 512-bit
pipes) at the clock /proc/cpuinfo reports (`cpu MHz`; a virtual machine reports its nominal
clock). Without VNNI (or AVX-512) the count falls back to what the flags allow: AVX-VNNI on 256
bits, 32 per instruction.

The peak, measured: a core boosts above the reported clock, so the count can fall below what the
kernel demonstrably does. `measured_gemm_rate` times onnxruntime's integer GEMM
(MatMulIntegerToFloat, the served graph's kernel) alone at the feed-forward's shape, one
single-threaded GEMM per core, all at once; the limit takes the higher of the counted peak and
that rate, so it stays an upper bound.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from app.encoder import OnnxEncoder
from app.model_card import ModelCard
from models.onnx_export import CONTRIB, IR_VERSION, OPSET, ROW_ZERO_POINT, int8_columns

FMA_PORTS = 2  # 512-bit pipes that can issue vpdpbusd each cycle (assumed, see above)
GEMM_TOKENS = 512  # rows of the measured GEMM: one encoder call's padded tokens at most
GEMM_SECONDS = 1.0  # how long the GEMM is timed (after one warm-up run)


@dataclass(frozen=True)
class ModelShape:
    layers: int
    hidden: int
    intermediate: int

    @classmethod
    def of(cls, card: ModelCard) -> ModelShape:
        """From the card's transformer config (`extra.config`, as exported)."""
        config = card.extra["config"]
        return cls(
            int(config["num_hidden_layers"]),
            int(config["hidden_size"]),
            int(config["intermediate_size"]),
        )

    def macs_per_passage(self, tokens: float) -> float:
        projections = 4 * tokens * self.hidden**2
        feed_forward = 2 * tokens * self.hidden * self.intermediate
        attention = 2 * tokens**2 * self.hidden
        return self.layers * (projections + feed_forward + attention)


@dataclass(frozen=True)
class CpuPeak:
    cores: int
    ghz: float
    macs_per_cycle_per_core: int
    instruction: str  # what the count assumes
    measured_macs_per_s: float | None = None  # int8 GEMM multiply-adds/s, all cores, if timed

    @property
    def counted_macs_per_s(self) -> float:
        return self.cores * self.ghz * 1e9 * self.macs_per_cycle_per_core

    @property
    def macs_per_s(self) -> float:
        """The higher of the counted peak and the measured GEMM rate."""
        return max(self.counted_macs_per_s, self.measured_macs_per_s or 0.0)


def measured_gemm_rate(
    hidden: int, intermediate: int, cores: int = 1, seconds: float = GEMM_SECONDS
) -> float:
    """Multiply-adds per second of onnxruntime's MatMulIntegerToFloat, one single-threaded
    GEMM on each of `cores` threads at once, summed: uint8 activations [GEMM_TOKENS, hidden]
    times int8 weights [hidden, intermediate], one scale per column, written as the served int8
    graph writes its feed-forward layer (`models.onnx_export.int8_columns`)."""
    rng = np.random.default_rng(0)
    weights, column_scales = int8_columns(
        rng.normal(size=(intermediate, hidden)).astype(np.float32)
    )
    node = helper.make_node(
        "MatMulIntegerToFloat", ["a", "b", "a_scale", "b_scale", "a_zero"], ["y"], domain=CONTRIB
    )
    graph = helper.make_graph(
        [node],
        "int8_gemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [GEMM_TOKENS, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [GEMM_TOKENS, intermediate])],
        initializer=[
            numpy_helper.from_array(weights, "b"),
            numpy_helper.from_array(np.array(1.0, np.float32), "a_scale"),
            numpy_helper.from_array(column_scales, "b_scale"),
            numpy_helper.from_array(np.array(ROW_ZERO_POINT, np.uint8), "a_zero"),
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB, 1)]
    )
    model.ir_version = IR_VERSION
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feeds = {"a": rng.integers(0, 256, (GEMM_TOKENS, hidden), dtype=np.uint8)}
    session.run(None, feeds)  # warm-up: weight packing

    def timed() -> float:  # onnxruntime releases the GIL while it runs
        runs, began = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - began) < seconds or runs == 0:
            session.run(None, feeds)
            runs += 1
        return runs * GEMM_TOKENS * hidden * intermediate / elapsed

    with ThreadPoolExecutor(cores) as pool:
        return sum(pool.map(lambda _: timed(), range(cores)))


def with_measured_gemm(peak: CpuPeak, shape: ModelShape) -> CpuPeak:
    """`peak` with the int8 GEMM rate of its cores timed on this machine."""
    rate = measured_gemm_rate(shape.hidden, shape.intermediate, peak.cores)
    return replace(peak, measured_macs_per_s=rate)


def _cpuinfo_flags_and_mhz(text: str) -> tuple[set[str], float]:
    flags: set[str] = set()
    mhz = 0.0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags |= set(value.split())
        elif key.strip() == "cpu MHz":
            mhz = max(mhz, float(value))
    return flags, mhz


def cpu_peak(cpuinfo: str | None = None, cores: int | None = None) -> CpuPeak:
    """The int8 multiply-add peak of the cores this process may use."""
    text = Path("/proc/cpuinfo").read_text() if cpuinfo is None else cpuinfo
    flags, mhz = _cpuinfo_flags_and_mhz(text)
    if "avx512_vnni" in flags:
        per_instruction, instruction = 64, "AVX-512 VNNI vpdpbusd (64 int8 MACs)"
    elif "avx_vnni" in flags:
        per_instruction, instruction = 32, "AVX-VNNI vpdpbusd on 256 bits (32 int8 MACs)"
    else:  # vpmaddubsw + vpmaddwd: about half the VNNI rate on 256 bits
        per_instruction, instruction = 16, "AVX2 vpmaddubsw/vpmaddwd (~16 int8 MACs)"
    return CpuPeak(
        cores=cores or len(os.sched_getaffinity(0)),
        ghz=round(mhz / 1000, 3),
        macs_per_cycle_per_core=FMA_PORTS * per_instruction,
        instruction=f"{instruction} x {FMA_PORTS} per cycle",
    )


def mean_tokens(encoder: OnnxEncoder, texts: Iterable[str]) -> float:
    """Mean tokens the model sees per passage (prefix and special tokens included)."""
    counts = [encoder.count_tokens(text, "passage") for text in texts]
    return sum(counts) / len(counts) if counts else 0.0


@dataclass(frozen=True)
class Limit:
    """The most passages per second these cores could encode, for one corpus."""

    corpus: str
    mean_tokens: float
    macs_per_passage: float
    peak_macs_per_s: float

    @property
    def passages_per_s(self) -> float:
        return self.peak_macs_per_s / self.macs_per_passage if self.macs_per_passage else 0.0

    def fraction(self, passages_per_s: float) -> float:
        return passages_per_s / self.passages_per_s if self.passages_per_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passages_per_s": round(self.passages_per_s, 1)}


def limit_for(corpus: str, shape: ModelShape, tokens: float, peak: CpuPeak) -> Limit:
    return Limit(corpus, round(tokens, 2), shape.macs_per_passage(tokens), peak.macs_per_s)


def describe(shape: ModelShape, peak: CpuPeak, limits: list[Limit]) -> list[str]:
    """Markdown: the assumptions and the limit per corpus."""
    lines = [
        f"Model: {shape.layers} layers, hidden {shape.hidden}, intermediate {shape.intermediate}"
        f". Multiply-adds per passage of n tokens: {shape.layers} x (4 n {shape.hidden}² + 2 n "
        f"{shape.hidden} x {shape.intermediate} + 2 n² {shape.hidden}) (projections, "
        "feed-forward, attention's QK^T and weights x V; one passage per call, no padding).",
        "",
        f"Peak, counted: {peak.cores} cores x {peak.ghz:g} GHz (/proc/cpuinfo `cpu MHz`) x "
        f"{peak.macs_per_cycle_per_core} int8 multiply-adds per cycle ({peak.instruction}; "
        f"assumed) = {peak.counted_macs_per_s / 1e9:,.0f} G multiply-adds/s. fp32 FMA "
        "peaks at a quarter of that (16 lanes instead of 64).",
        "",
        *_measured_lines(peak),
        "| corpus | mean tokens | G multiply-adds per passage | limit (passages/s) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {lim.corpus} | {lim.mean_tokens:.1f} | {lim.macs_per_passage / 1e9:.3f} | "
        f"{lim.passages_per_s:,.0f} |"
        for lim in limits
    ]
    return [*lines, ""]


def _measured_lines(peak: CpuPeak) -> list[str]:
    measured = peak.measured_macs_per_s
    if measured is None:
        return ["Peak, measured: not timed in this run; the limit is the counted peak.", ""]
    faster = measured > peak.counted_macs_per_s
    higher = "measured rate" if faster else "counted peak"
    boost = ", so the cores run above the clock /proc/cpuinfo reports" if faster else ""
    return [
        f"Peak, measured: onnxruntime's int8 GEMM (MatMulIntegerToFloat, the served graph's "
        f"kernel) alone, {GEMM_TOKENS} tokens through the feed-forward's first layer, one "
        f"single-threaded GEMM on each of the {peak.cores} cores at once, ran at "
        f"{measured / 1e9:,.0f} G multiply-adds/s{boost}. The limit takes the higher: the "
        f"{higher} ({peak.macs_per_s / 1e9:,.0f} G multiply-adds/s).",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.limit [--corpus FILE]... [--out FILE]`: the limit for each corpus,
    printed and, with --out, written as Markdown (docs/bench/limit.md)."""
    from bench.corpus import read_passages

    parser = argparse.ArgumentParser(prog="python -m bench.limit", description=__doc__)
    parser.add_argument("--out", type=Path, help="write the Markdown here too")
    parser.add_argument("--model-dir", type=Path, default=Path("artifacts/models/e5-l12-wise-40"))
    parser.add_argument("--corpus", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    encoder = OnnxEncoder(args.model_dir, "int8")
    shape = ModelShape.of(encoder.card)
    peak = with_measured_gemm(cpu_peak(), shape)
    limits = [
        limit_for(
            str(path), shape, mean_tokens(encoder, (p.text for p in read_passages(path))), peak
        )
        for path in args.corpus or [Path("data/corpora/udhr.jsonl")]
    ]
    text = "\n".join(describe(shape, peak, limits))
    print(text)
    if args.out is not None:
        command = "python -m bench.limit " + " ".join(argv if argv is not None else sys.argv[1:])
        header = [
            "# The physical limit of encoding on this machine",
            "",
            f"Written by `{command.strip()}` (`bench/limit.py`, which says how it counts); "
            "`make bench` reports every encode and indexing figure as a share of it.",
            "",
        ]
        args.out.write_text("\n".join(header) + "\n" + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
