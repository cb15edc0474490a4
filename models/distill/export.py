"""A trained student -> `artifacts/models/<name>/` (see `models.student_files`); the card
carries the recipe, data counts and training log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import BertModel

from models.bert import BertConfig, StateDict
from models.distill.merge import blend_with_init
from models.distill.student import load_student
from models.student_files import EXPORT_BUILDER, write_student


def numpy_state(student: BertModel) -> tuple[BertConfig, StateDict]:
    config = BertConfig.from_hf_dict(student.config.to_dict())
    state = {name: t.detach().float().cpu().numpy() for name, t in student.state_dict().items()}
    return config, state


def export_student(
    student: BertModel,
    name: str,
    init_dir: Path,
    out_dir: Path,
    extra: dict[str, Any],
    layers: list[int],
    init_weight: float = 0.0,
) -> Path:
    """Write the student's model folder (atomically, like `models.build`); returns it.
    `init_weight` > 0 blends back the weights it started from: `layers` of the model in
    `init_dir` (models.distill.merge)."""
    config, state = numpy_state(student)
    if init_weight:
        _, start = numpy_state(load_student(init_dir, layers, dropout=0.0))
        state = blend_with_init(state, start, init_weight)
    return write_student(
        name, config, state, init_dir, out_dir, {"builder": EXPORT_BUILDER, **extra}
    )
