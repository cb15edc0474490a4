"""A trained student -> `artifacts/models/<name>/` (see `models.student_files`); the card
carries the recipe, data counts and training log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import BertModel

from models.bert import BertConfig, StateDict
from models.student_files import EXPORT_BUILDER, write_student


def numpy_state(student: BertModel) -> tuple[BertConfig, StateDict]:
    config = BertConfig.from_hf_dict(student.config.to_dict())
    state = {name: t.detach().float().cpu().numpy() for name, t in student.state_dict().items()}
    return config, state


def export_state(
    name: str,
    config: BertConfig,
    state: StateDict,
    init_dir: Path,
    out_dir: Path,
    extra: dict[str, Any],
) -> Path:
    """Write the student's model folder (atomically, like `models.build`); returns it."""
    return write_student(
        name, config, state, init_dir, out_dir, {"builder": EXPORT_BUILDER, **extra}
    )
