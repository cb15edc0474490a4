"""The model `make run` serves: the service's own default (so `python -m app` and the Docker
image serve it too), a release of the repository (assembled without torch) of a recipe of the
repository, whose committed evaluation (`docs/eval/`) measured that very recipe; and the
training install takes torch's CPU build at the project's pin."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

from app.settings import Settings
from models.build import PUBLISHED_EVALUATION
from models.distill.recipe import Recipe
from models.release import find_release

ROOT = Path(__file__).resolve().parents[1]


def _make_variable(name: str) -> str:
    """A variable's value as make sees it (nothing is built)."""
    rule = f"print-variable: ; @echo $({name})"
    result = subprocess.run(
        ["make", "--no-print-directory", "--eval", rule, "print-variable"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_default_model_is_a_recipe_of_the_repository() -> None:
    model, recipe_file = _make_variable("MODEL"), _make_variable("RECIPE")
    assert recipe_file == f"recipes/{model}.toml"
    assert Recipe.load(ROOT / recipe_file).name == model


def test_make_run_python_m_app_and_docker_serve_the_same_released_student() -> None:
    model = _make_variable("MODEL")
    assert Settings().model == model  # python -m app, and the image (it sets no model)
    assert _make_variable("DATA_DIR") == str(Settings().data_dir)
    release = find_release(model)
    assert release is not None, f"{model} has no release in models/releases/"
    assert (
        release.manifest["recipe_fingerprint"]
        == Recipe.load(ROOT / _make_variable("RECIPE")).fingerprint
    )
    assert "POLYSEARCH_MODEL=" not in (ROOT / "Dockerfile").read_text()


def test_the_committed_evaluation_measured_the_default_recipe() -> None:
    """Change the recipe and this fails until `make eval` measures the new one."""
    recipe = Recipe.load(ROOT / _make_variable("RECIPE"))
    results = json.loads(PUBLISHED_EVALUATION.read_text(encoding="utf-8"))
    measured = [e for e in results["encoders"] if e["role"] == "model"]
    assert measured, "docs/eval/results.json evaluates no model"
    for entry in measured:
        assert entry["model_identity"]["name"] == recipe.name
        assert entry["model_identity"]["recipe"] == recipe.fingerprint
    assert results["side_by_side"]["passages_per_s"]["model"] > 0  # beside the packaged model


def test_training_installs_take_torch_from_the_cpu_index_at_the_pinned_version() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [r for r in extras["optional-dependencies"]["train"] if r.startswith("torch")]
    for target in (".venv/.train-installed", ".venv/.dev-installed"):
        dry_run = subprocess.run(
            ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        torch_line = next(i for i, line in enumerate(dry_run) if re.search(r"torch==", line))
        assert f"'{pin}'" in dry_run[torch_line]
        assert "--index-url https://download.pytorch.org/whl/cpu" in dry_run[torch_line]
        extra_line = next(i for i, line in enumerate(dry_run) if "-e '.[" in line)
        assert torch_line < extra_line  # else pip would take PyPI's CUDA build first
