"""A trained student -> `artifacts/models/<name>/`: ONNX fp32 + int8, tokenizer, hf/, card.

The same ONNX writer and quantiser as the base model, so `POLYSEARCH_MODEL=<name>` serves the
student with no runtime change; the card carries the recipe, data counts and training log.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import onnx
from tokenizers import Tokenizer
from transformers import BertModel

from app.model_card import ModelCard
from models.bert import BertConfig, StateDict
from models.build import (
    HF_DIR,
    ONNX_FP32,
    ONNX_INT8,
    TOKENIZER_FILE,
    _swap_into_place,
    write_hf_model,
)
from models.onnx_export import OPSET, bert_to_onnx
from models.quantize import quantize_int8

BUILDER = "models.distill.export v1"


def numpy_state(student: BertModel) -> tuple[BertConfig, StateDict]:
    config = BertConfig.from_hf_dict(student.config.to_dict())
    state = {name: t.detach().float().numpy().copy() for name, t in student.state_dict().items()}
    return config, state


def export_student(
    student: BertModel, name: str, init_dir: Path, out_dir: Path, extra: dict[str, Any]
) -> Path:
    """Write the student's model folder (atomically, like `models.build`); returns it."""
    base = ModelCard.load(init_dir)
    config, state = numpy_state(student)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.building-", dir=out_dir))
    staging.chmod(0o755)
    try:
        shutil.copyfile(init_dir / base.tokenizer_file, staging / TOKENIZER_FILE)
        tokenizer = Tokenizer.from_file(str(staging / TOKENIZER_FILE))
        write_hf_model(staging / HF_DIR, config, state, tokenizer)
        onnx.save(bert_to_onnx(config, state), str(staging / ONNX_FP32))
        float_embeddings = staging / "int8-input.onnx"
        onnx.save(bert_to_onnx(config, state, int8_word_embeddings=True), str(float_embeddings))
        quantize_int8(float_embeddings, staging / ONNX_INT8)
        float_embeddings.unlink()
        card = replace(
            base,
            name=name,
            tokenizer_file=TOKENIZER_FILE,
            onnx_files={"fp32": ONNX_FP32, "int8": ONNX_INT8},
            extra={
                "builder": BUILDER,
                "onnx_opset": OPSET,
                "architecture": "BertModel",
                "config": config.to_hf_dict(),
                "hf_dir": HF_DIR,
                "base_model": base.name,
                "file_bytes": {
                    f: (staging / f).stat().st_size for f in (ONNX_FP32, ONNX_INT8, TOKENIZER_FILE)
                },
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
