"""What the figures were measured on: CPU, cores, memory, load, library versions."""

from __future__ import annotations

import os
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "onnxruntime",
    "openvino",
    "ctranslate2",
    "fastembed",
    "qdrant-edge-py",
    "torch",
    "sentence-transformers",
    "qdrant-client",
    "fastapi",
    "uvicorn",
)


def uptime() -> str:
    """`uptime`'s line: how busy the machine was (other users share these cores)."""
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or f"load average {os.getloadavg()}"


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(seconds: float = 3.0) -> float:
    """The share of all cores' time spent busy over the next `seconds`: how much else runs
    right now (the load average lags by minutes)."""
    busy_before, total_before = _cpu_times()
    time.sleep(seconds)
    busy_after, total_after = _cpu_times()
    return (busy_after - busy_before) / max(total_after - total_before, 1)


# The instructions that set how fast int8 and bfloat16 matrix products run, best first: the
# names of cloud CPUs ("Intel(R) Xeon(R) Processor") do not tell a Sapphire Rapids with AMX
# from an Ice Lake with only AVX-512 VNNI, and their figures differ.
MATRIX_FEATURES = (
    ("amx_int8", "AMX"),
    ("avx512_vnni", "AVX-512 VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("avx2", "AVX2"),
)


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name, family and model numbers, and its best matrix instructions, from
    /proc/cpuinfo (or `cpuinfo`'s text): "AMD EPYC 7B13 (family 25 model 1; AVX2)"."""
    text = Path("/proc/cpuinfo").read_text() if cpuinfo is None else cpuinfo
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():  # the first core's block
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "unknown CPU")
    flags = set(fields.get("flags", "").split())
    best = next((label for flag, label in MATRIX_FEATURES if flag in flags), None)
    kind = [f"family {fields['cpu family']} model {fields['model']}"] if "model" in fields else []
    kind += [best] if best else []
    return f"{name} ({'; '.join(kind)})" if kind else name


def memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024 / 1e9
    return 0.0


def versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
