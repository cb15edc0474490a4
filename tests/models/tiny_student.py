"""A tiny distilled student for the model tests: the packaged model's first two layers, moved
off their values as training would, and the card fields `python -m models distill` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from models.bert import StateDict
from models.build import HF_DIR
from models.distill.recipe import Recipe
from models.onnx_export import WORD_EMBEDDINGS
from models.student_files import EXPORT_BUILDER

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO_ROOT / "recipes" / "tiny-l2.toml"


def two_layer_student(model_dir: Path) -> StateDict:
    """The packaged model's first two layers, moved off their values as training would."""
    state = load_file(str(model_dir / HF_DIR / "model.safetensors"))
    rng = np.random.default_rng(1)
    kept: StateDict = {}
    for name, value in state.items():
        if name.startswith("encoder.layer.") and int(name.split(".")[2]) >= 2:
            continue
        moved = value if name == WORD_EMBEDDINGS else value + rng.normal(0, 0.01, value.shape)
        kept[name] = moved.astype(np.float32)
    return kept


def export_extra(recipe: Recipe) -> dict[str, Any]:
    """What `python -m models distill` writes into an exported student's card."""
    return {
        "builder": EXPORT_BUILDER,
        "recipe_file": str(TINY_RECIPE),
        "recipe": recipe.to_dict(),
        "recipe_fingerprint": recipe.fingerprint,
        "layers_kept": [0, 1],
        "data": {"pairs": 0, "languages": 0, "per_source": {}},
        "training": {"steps": 0, "train_seconds": 0.0, "history": []},
    }
