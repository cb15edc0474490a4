"""Constants, the committed results and the comparison of one figure, shared by the tasks."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO_ROOT / "artifacts" / "models" / "multilingual-e5-small" / "hf"
RESULTS = REPO_ROOT / "docs" / "eval" / "results.json"
ENCODER_KEY = "multilingual-e5-small:fp32"
PROTOCOL = "asymmetric"  # `query: ` on the query side, `passage: ` on the candidates
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
ENGLISH = "eng"
# A figure agrees when ours and the committed one are at most this far apart, in points
# (hundredths): the noise of another runtime's arithmetic (PyTorch vs ONNX Runtime, batching).
TOLERANCE_POINTS = 0.5


@lru_cache(maxsize=4)
def load_results(results: Path = RESULTS) -> dict[str, Any]:
    """The parsed results.json (read once per path; callers only read it)."""
    data: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    return data


def committed_codes(results: Path = RESULTS) -> list[str]:
    """The evaluated languages, in the suite's order (English not among them)."""
    codes: list[str] = load_results(results)["languages"]["codes"]
    return codes


def committed_task(task: str, results: Path = RESULTS) -> dict[str, Any]:
    """The asymmetric entry of `task` (a results.json task key) for the packaged fp32 model."""
    (entry,) = [e for e in load_results(results)["encoders"] if e["key"] == ENCODER_KEY]
    committed: dict[str, Any] = entry["tasks"][task][PROTOCOL]
    return committed


def within_noise(difference: float) -> bool:
    return abs(100 * difference) <= TOLERANCE_POINTS + 1e-9


def figure(ours: float, theirs: float) -> dict[str, Any]:
    """One compared figure (a share in [0, 1]); the difference is ours - committed."""
    difference = ours - theirs
    return {
        "ours": ours,
        "theirs": theirs,
        "difference": difference,
        "within_noise": within_noise(difference),
    }
