"""Running `python -m indexer` in a subprocess, as a user does."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import ROOT


def cli_env(data_dir: Path) -> dict[str, str]:
    """The environment of a `python -m indexer` run on the built models, into `data_dir`."""
    env = {
        **os.environ,
        "POLYSEARCH_DATA_DIR": str(data_dir),
        "POLYSEARCH_MODELS_DIR": str(ROOT / "artifacts" / "models"),
    }
    env.pop("QDRANT_URL", None)
    return env
