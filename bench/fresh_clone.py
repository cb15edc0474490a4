"""`python -m bench.fresh_clone`: how long a new user waits. Clones this repository (its committed
HEAD) into a temporary folder, runs `make run` there on a free port and times it until `/readyz`
answers 200; then reports whether torch got into the new `.venv` (it must not: issue 16's set-up
goal is a ready service within 3 minutes, with no torch and no training).

Package downloads come from wherever pip and npm are configured to fetch them, so a cold cache
adds its download time; the figure printed includes it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import REPO_ROOT
from bench.machine import cpu_name, uptime
from bench.services import free_port

GOAL_S = 180.0


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def time_fresh_run(clone_dir: Path, limit_s: float) -> tuple[float, bool]:
    """Seconds from `make run` to a 200 from /readyz in a fresh clone, and whether the clone's
    venv can import torch. Stops the service (its whole process group) afterwards."""
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone_dir)], check=True)
    port = free_port()
    log = (clone_dir / "make-run.log").open("wb")
    started = time.perf_counter()
    make = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while not _ready(port):
            if make.poll() is not None:
                raise SystemExit(f"make run exited with {make.returncode}: see {log.name}")
            if time.perf_counter() - started > limit_s:
                raise SystemExit(f"not ready after {limit_s:.0f} s: see {log.name}")
            time.sleep(0.5)
        seconds = time.perf_counter() - started
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
    python = clone_dir / ".venv" / "bin" / "python"
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"
    has_torch = subprocess.run([str(python), "-c", probe]).returncode == 0
    return seconds, has_torch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fresh_clone", description=__doc__)
    parser.add_argument("--limit", type=float, default=900.0, help="give up after this (s)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (and its log)")
    args = parser.parse_args(argv)
    clone_dir = Path(tempfile.mkdtemp(prefix="polysearch-fresh-")) / "clone"
    seconds, has_torch = time_fresh_run(clone_dir, args.limit)
    print(
        f"fresh clone `make run`: ready after {seconds:.1f} s (goal {GOAL_S:.0f} s); "
        f"torch in the venv: {'yes' if has_torch else 'no'}; {cpu_name()}, {os.cpu_count()} "
        f"CPUs, {uptime()}"
    )
    if not args.keep:
        subprocess.run(["rm", "-rf", str(clone_dir.parent)], check=True)
    return 0 if seconds <= GOAL_S and not has_torch else 1


if __name__ == "__main__":
    sys.exit(main())
