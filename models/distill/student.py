"""The student: multilingual-e5-small's BertModel with a subset of its layers kept."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertModel

from models.build import HF_DIR


def layer_selection(spec: str | list[int], total: int) -> list[int]:
    """`[0, 1, 2]`, `"first:N"` or `"every:K"` (layers K-1, 2K-1, ..., the last included)."""
    if isinstance(spec, list):
        layers = sorted(spec)
    elif spec.startswith("first:"):
        layers = list(range(int(spec.removeprefix("first:"))))
    elif spec.startswith("every:"):
        step = int(spec.removeprefix("every:"))
        layers = list(range(step - 1, total, step))
    else:
        raise ValueError(f"layers: a list, 'first:N' or 'every:K', not {spec!r}")
    if not layers or layers[0] < 0 or layers[-1] >= total or len(set(layers)) != len(layers):
        raise ValueError(f"layers {layers} do not fit a {total}-layer model")
    return layers


def load_student(init_dir: Path, layers: list[int], dropout: float) -> BertModel:
    """The initial model's weights with only `layers` kept (renumbered 0..len-1)."""
    model = BertModel.from_pretrained(
        str(init_dir / HF_DIR),
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        add_pooling_layer=False,
    )
    model.encoder.layer = torch.nn.ModuleList([model.encoder.layer[i] for i in layers])
    model.config.num_hidden_layers = len(layers)
    return model
