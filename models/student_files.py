"""A student's model folder, written from a numpy state dict: ONNX fp32 + int8, tokenizer, hf/,
card. Torch-free, so that a released student assembles without the training install.

The same ONNX writer as the packaged model, so `POLYSEARCH_MODEL=<name>` serves a
student with no runtime change. Written into a temporary sibling and swapped into place, like
`models.build`, so a card never points at half-written files.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from safetensors.numpy import load_file
from tokenizers import Tokenizer

from app.model_card import ModelCard, SourceArtifact
from models.bert import BertConfig, StateDict
from models.build import BUILDER as GRAPH_BUILDER
from models.build import (
    HF_DIR,
    INT8_FORMAT,
    ONNX_FP32,
    ONNX_INT8,
    TOKENIZER_FILE,
    _swap_into_place,
    file_bytes,
    write_hf_model,
    write_onnx_files,
)
from models.onnx_export import OPSET


def write_student(
    name: str,
    config: BertConfig,
    state: StateDict,
    init_dir: Path,
    out_dir: Path,
    extra: dict[str, Any],
    sources: list[SourceArtifact] | None = None,
) -> Path:
    """`out_dir/name`: the student's files and card (the init model's card fields, tokenizer
    and, unless `sources` are given, its sources); `extra` names the builder and the recipe."""
    base = ModelCard.load(init_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.building-", dir=out_dir))
    staging.chmod(0o755)
    try:
        shutil.copyfile(init_dir / base.tokenizer_file, staging / TOKENIZER_FILE)
        tokenizer = Tokenizer.from_file(str(staging / TOKENIZER_FILE))
        write_hf_model(staging / HF_DIR, config, state, tokenizer)
        write_onnx_files(staging, config, state)
        card = replace(
            base,
            name=name,
            tokenizer_file=TOKENIZER_FILE,
            onnx_files={"fp32": ONNX_FP32, "int8": ONNX_INT8},
            sources=base.sources if sources is None else sources,
            extra={
                "onnx_opset": OPSET,
                "architecture": "BertModel",
                "config": config.to_hf_dict(),
                "hf_dir": HF_DIR,
                "int8": INT8_FORMAT,
                "base_model": base.name,
                "file_bytes": file_bytes(staging),
                **extra,
            },
        )
        card.save(staging)
        _swap_into_place(staging, out_dir / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"wrote {out_dir / name}", file=sys.stderr)
    return out_dir / name


# What `python -m models distill` names as a student's builder: the ONNX graph builder too, so
# that an export whose graphs an older builder wrote is known to be stale.
EXPORT = "models.distill.export"
EXPORT_BUILDER = f"{EXPORT} v2 ({GRAPH_BUILDER})"
# Card fields that describe a folder's ONNX files, or what was measured on them: rewritten or
# dropped when the graphs are.
_GRAPH_FIELDS = ("onnx_opset", "int8", "file_bytes", "evaluation", "languages")


def has_stale_graphs(model_dir: Path) -> bool:
    """Whether `distill` exported this folder with another ONNX graph builder than today's (a
    release's assembly is `models build`'s to renew, never this)."""
    builder = str(ModelCard.load(model_dir).extra.get("builder", ""))
    return builder.startswith(EXPORT) and builder != EXPORT_BUILDER


def rewrite_graphs(model_dir: Path) -> Path:
    """The exported student again from its own trained weights (`hf/`), with today's ONNX
    graphs: no training. Its card keeps the recipe, data and training log, names today's
    builder, and loses the evaluation, which measured the old graphs."""
    card = ModelCard.load(model_dir)
    config = BertConfig.from_hf_dict(
        json.loads((model_dir / HF_DIR / "config.json").read_text(encoding="utf-8"))
    )
    state = load_file(str(model_dir / HF_DIR / "model.safetensors"))
    extra = {k: v for k, v in card.extra.items() if k not in _GRAPH_FIELDS}
    extra["builder"] = EXPORT_BUILDER
    return write_student(card.name, config, state, model_dir, model_dir.parent, extra, card.sources)
