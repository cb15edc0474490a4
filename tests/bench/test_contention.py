"""`python -m bench.contention --smoke`: the contention benchmark runs its three phases against
the real `python -m app` over HTTP and writes its report; every answer was JSON, every 503 an
`overloaded` with Retry-After. Checks the harness and the answers, not the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SMOKE_TIMEOUT_S = 900  # normally about a minute; the bound is for a cold, busy CI machine


def test_the_smoke_run_measures_every_phase(tmp_path: Path, model_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.contention", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((tmp_path / "contention.json").read_text(encoding="utf-8"))
    assert report["smoke"] is True
    phases = report["phases"]
    assert list(phases) == ["writers alone", "search beside writers", "search at c=32"]
    for name in ("writers alone", "search beside writers"):
        writers = phases[name]["writers"]
        assert writers["passages_per_s"] > 0, name
        assert writers["requests"]["other"] == {}, name
    for name in ("search beside writers", "search at c=32"):
        search = phases[name]["search"]
        assert search["ok"] > 0, name
        assert search["other"] == {}, name  # no 5xx but 503 overloaded, nothing non-JSON
        assert search["refused_without_retry_after"] == 0, name
        assert phases[name]["queue"]["query_waits"] >= 1, name
    # At c=1 every search queues for its own encoder call; in a crowd, searches that share a
    # call (app/encode_combiner.py) wait once for it, so there are fewer waits than searches.
    beside = phases["search beside writers"]
    assert beside["queue"]["query_waits"] >= beside["search"]["ok"]
    assert report["settings"]["encode_slots"] >= 1
    assert set(report["goals"]) == {
        "beside: search p99 <= 100 ms",
        "beside: no 503 for searches",
        "beside: writers >= half their alone throughput",
        "c=32: p99 <= 300 ms or fast 503 with Retry-After",
        "c=32: no queue wait over the bound (first bucket edge >= bound)",
    }
    assert (tmp_path / "contention.md").read_text(encoding="utf-8").startswith("# Searches")
