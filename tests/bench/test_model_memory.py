"""`python -m bench.model_memory`: the inline layout it compares with serves the same vectors,
and the command measures both layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from app.encoder import OnnxEncoder
from app.model_card import ModelCard
from bench.model_memory import inline_copy, main


def test_the_inline_copy_holds_every_table_and_serves_the_same_vectors(
    model_dir: Path, tmp_path: Path
) -> None:
    copy = inline_copy(model_dir, tmp_path)
    graph = ModelCard.load(copy).onnx_files["int8"]
    tensors = onnx.load(str(copy / graph), load_external_data=False).graph.initializer
    assert all(t.data_location == onnx.TensorProto.DEFAULT for t in tensors)
    assert not (copy / graph).is_symlink() and not (copy / f"{graph}.data").exists()
    texts = ["Everyone has the right to life.", "Kila mtu ana haki ya kuishi."]
    expected = OnnxEncoder(model_dir, "int8").encode(texts, "passage")
    assert np.array_equal(OnnxEncoder(copy, "int8").encode(texts, "passage"), expected)


def test_the_command_measures_both_layouts(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", model_dir.name, "--models-dir", str(model_dir.parent), "--rounds", "1"]
    assert main([*argv, "--queries", "2", "--passages", "8"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1 |")]
    assert [row.split(" | ")[1] for row in rows] == ["mapped", "inline"]
    assert all(float(cell) > 0 for row in rows for cell in row.strip("| ").split(" | ")[2:])
