"""The physical limit's arithmetic (bench/limit.py): multiply-adds per passage and the int8 peak."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.limit import CpuPeak, ModelShape, cpu_peak, limit_for, measured_gemm_rate

E5_SMALL = ModelShape(layers=12, hidden=384, intermediate=1536)


def test_multiply_adds_count_projections_feed_forward_and_attention() -> None:
    # One token: per layer 4 x 384² (Q, K, V, output) + 2 x 384 x 1536 (feed-forward) + 2 x 384.
    assert E5_SMALL.macs_per_passage(1) == 12 * (4 * 384**2 + 2 * 384 * 1536 + 2 * 384)
    # Attention grows with the square of the length: doubling 100 tokens more than doubles it.
    assert E5_SMALL.macs_per_passage(200) > 2 * E5_SMALL.macs_per_passage(100)
    # 100 tokens: 12 x (59.0M + 118.0M + 7.7M) multiply-adds.
    assert E5_SMALL.macs_per_passage(100) == pytest.approx(2.2155e9, rel=1e-4)


CPUINFO = """processor\t: 0
cpu MHz\t\t: 2596.122
flags\t\t: fpu sse avx2 avx512f avx512_vnni avx_vnni
processor\t: 1
cpu MHz\t\t: 2596.122
flags\t\t: fpu sse avx2 avx512f avx512_vnni avx_vnni
"""


def test_peak_reads_the_clock_and_the_widest_int8_instruction() -> None:
    peak = cpu_peak(CPUINFO, cores=2)
    assert (peak.ghz, peak.macs_per_cycle_per_core) == (2.596, 128)  # 2 x 64 int8 MACs
    assert peak.macs_per_s == pytest.approx(2 * 2.596e9 * 128)
    narrower = cpu_peak(CPUINFO.replace(" avx512_vnni", ""), cores=2)
    assert narrower.macs_per_cycle_per_core == 64  # AVX-VNNI on 256 bits


def test_limit_and_fraction() -> None:
    peak = CpuPeak(cores=2, ghz=2.5, macs_per_cycle_per_core=128, instruction="test")
    limit = limit_for("corpus", E5_SMALL, 100, peak)
    assert limit.passages_per_s == pytest.approx(640e9 / E5_SMALL.macs_per_passage(100))
    assert limit.fraction(limit.passages_per_s / 4) == pytest.approx(0.25)


def test_the_limit_takes_the_higher_of_the_counted_and_the_measured_peak() -> None:
    counted = CpuPeak(cores=2, ghz=2.5, macs_per_cycle_per_core=128, instruction="test")
    assert counted.macs_per_s == counted.counted_macs_per_s == 640e9
    boosted = replace(counted, measured_macs_per_s=800e9)  # cores beating the counted 640 G
    assert boosted.macs_per_s == 800e9
    slower = replace(counted, measured_macs_per_s=200e9)
    assert slower.macs_per_s == 640e9


def test_the_int8_gemm_is_timed_at_the_given_shape() -> None:
    alone = measured_gemm_rate(64, 128, seconds=0.05)
    together = measured_gemm_rate(64, 128, cores=2, seconds=0.05)
    # Any CPU this runs on does at least 1 G int8 multiply-adds/s, and less than 10 T per core.
    assert 1e9 < alone < 1e13
    assert 1e9 < together < 2e13
