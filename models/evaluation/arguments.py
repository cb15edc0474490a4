"""The `evaluate` command's arguments, kept free of heavy imports (numpy, onnxruntime,
matplotlib) so that building the parser for `python -m models build` stays light."""

from __future__ import annotations

import argparse
from pathlib import Path

# "hybrid": dense, lexical and hybrid ranking side by side (models/evaluation/hybrid.py), with
# the fusion settings of the environment (POLYSEARCH_HYBRID_*, as the service reads them).
# "highlight": is the highlighted sentence in the right paragraph (models/evaluation/highlight.py).
TASKS = (
    "udhr-bitext",
    "multilingual-pool",
    "code-switched",
    "questions",
    "bible-nt",
    "hybrid",
    "highlight",
    "grouped",
)
# Every task by default; Chichewa NT -> English encodes ~8k verse pairs per encoder (minutes
# each on 2 idle cores, cached in the embedding cache for reruns).
DEFAULT_TASKS = TASKS
DEFAULT_LANGUAGES = "all"
DEFAULT_EMBEDDING_CACHE = Path(".cache/eval")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="multilingual-e5-small", help="model name or dir")
    parser.add_argument("--baselines", action="store_true", help="also run the baselines")
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS), choices=TASKS)
    parser.add_argument(
        "--languages",
        default=DEFAULT_LANGUAGES,
        help="'all' aligned UDHR languages, the first N in the evaluation order (the first 22: "
        "the development split), or comma-separated udhr codes (swh,fra)",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["fp32", "int8"],
        choices=["fp32", "int8"],
        help="ONNX variants of the model (and of the packaged baseline) to evaluate",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/eval"), help="report folder")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_EMBEDDING_CACHE, help="embedding cache folder"
    )
    parser.add_argument("--models-dir", type=Path, default=Path("artifacts/models"))
    parser.add_argument(
        "--write-card", action="store_true", help="store the figures in the model's card"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="re-render README and plots from --out's results.json as recorded (no encoding)",
    )
