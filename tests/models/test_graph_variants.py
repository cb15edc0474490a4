"""The fused graph (onnxruntime's MultiHeadAttention and BiasGelu kernels) computes what the
plain graph does, on the real model's weights; int8 graphs batch only when they may; and
OpenVINO's rows (bench/openvino_runtime.py) run the plain graph, as it is and as static int8."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import pytest
from safetensors.numpy import load_file

from app.encoder import BATCH_SIZE, OnnxEncoder, default_batch_size
from app.model_card import ModelCard
from bench.graph_variants import GraphVariant, graph_folder, write_variant
from bench.openvino_runtime import OpenVinoEncoder, activation_ranges, write_static_int8
from models.onnx_export import GraphOptions, int8_columns, matmul_nbits_int8

PLAIN = GraphVariant("plain", GraphOptions(fused=False))
FUSED = GraphVariant("fused", GraphOptions(fused=True))
FUSED_INT8 = GraphVariant(
    "fused int8 rows", GraphOptions(fused=True, int8_embeddings=True, int8_linears=True)
)
FUSED_INT8_BLOCKS = GraphVariant(
    "fused int8 blocks",
    GraphOptions(fused=True, int8_embeddings=True, int8_linears=True, int8_kernel="blocks"),
)


@pytest.fixture(scope="module")
def plain_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_variant(model_dir, PLAIN, tmp_path_factory.mktemp("g") / "m")


@pytest.fixture(scope="module")
def plain_fp32(plain_dir: Path) -> OnnxEncoder:
    return OnnxEncoder(plain_dir, "fp32")


@pytest.mark.parametrize(
    ("variant", "threshold"),
    # int8 per row: one scale per token vector, a coarser grid than blocks of 32 (the served
    # one all the same: 1.4-1.9x as fast, and the same UDHR acc@1 on the development split).
    [(FUSED, 0.9999), (FUSED_INT8_BLOCKS, 0.999), (FUSED_INT8, 0.995)],
)
def test_the_fused_graph_agrees_with_the_plain_graph(
    model_dir: Path,
    plain_fp32: OnnxEncoder,
    sentences: list[str],
    tmp_path: Path,
    variant: GraphVariant,
    threshold: float,
) -> None:
    fused = OnnxEncoder(write_variant(model_dir, variant, tmp_path / "m"), "fp32")
    cosines = np.sum(
        fused.encode(sentences, "passage") * plain_fp32.encode(sentences, "passage"), 1
    )
    assert float(cosines.min()) >= threshold


def test_matmul_nbits_blocks_decode_to_the_weight(model_dir: Path) -> None:
    """Codes - 128 times the block's scale give the weight back within half a step."""
    state = load_file(str(model_dir / "hf" / "model.safetensors"))
    weight = state["encoder.layer.0.intermediate.dense.weight"]  # [out, in]
    codes, scales = matmul_nbits_int8(weight)
    decoded = (codes.astype(np.float32) - 128) * scales[..., None]
    error = np.abs(decoded.reshape(weight.shape) - weight)
    assert np.all(error <= np.repeat(scales, codes.shape[2], axis=1) / 2 + 1e-7)


def test_int8_columns_decode_to_the_weight(model_dir: Path) -> None:
    """Per-column int8 times the column's scale gives the [out, in] weight back within half a
    step, transposed for MatMulIntegerToFloat ([in, out])."""
    state = load_file(str(model_dir / "hf" / "model.safetensors"))
    weight = state["encoder.layer.0.intermediate.dense.weight"]
    quants, scales = int8_columns(weight)
    assert quants.shape == weight.T.shape and int(np.abs(quants).max()) == 127
    error = np.abs(quants.T.astype(np.float32) * scales[:, None] - weight)
    assert np.all(error <= scales[:, None] / 2 + 1e-7)


def test_int8_batches_only_when_its_card_says_vectors_ignore_the_batch(model_dir: Path) -> None:
    card = ModelCard.load(model_dir)
    assert card.extra["int8"]["batch_independent"] is True
    assert default_batch_size("int8", card) == default_batch_size("fp32", card) == BATCH_SIZE
    older = dataclasses.replace(card, extra={k: v for k, v in card.extra.items() if k != "int8"})
    assert default_batch_size("int8", older) == 1  # builder v2: dynamic quantisation


def test_another_graph_file_is_measured_as_the_model_serves_it(
    model_dir: Path, sentences: list[str], tmp_path: Path
) -> None:
    """`--graph LABEL=FILE` (say, an older builder's int8 graph): the file under the model's
    tokenizer gives the vectors the model's own encoder gives with it."""
    served = model_dir / ModelCard.load(model_dir).onnx_files["int8"]
    row = OnnxEncoder(graph_folder(model_dir, served, tmp_path / "g"), "fp32")
    expected = OnnxEncoder(model_dir, "int8").encode(sentences, "passage")
    assert np.array_equal(row.encode(sentences, "passage"), expected)


def test_openvino_runs_the_plain_graph_as_onnxruntime_does(
    plain_dir: Path, plain_fp32: OnnxEncoder, sentences: list[str]
) -> None:
    """Within bfloat16's rounding, where OpenVINO picks it (a CPU with AMX or AVX-512 BF16)."""
    openvino = OpenVinoEncoder(plain_dir, "fp32")
    cosines = np.sum(
        openvino.encode(sentences, "passage") * plain_fp32.encode(sentences, "passage"), 1
    )
    assert float(cosines.min()) >= 0.9995


def test_static_int8_quantises_every_linear_layer_with_fixed_scales(
    plain_dir: Path, plain_fp32: OnnxEncoder, sentences: list[str], tmp_path: Path
) -> None:
    graph = onnx.load(str(plain_dir / "model.onnx"), load_external_data=False)
    weights = {t.name for t in graph.graph.initializer}
    products = [n for n in graph.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    ranges = activation_ranges(plain_dir / "model.onnx", plain_fp32, sentences)
    assert set(ranges) == {n.input[0] for n in products}
    assert all(value > 0 for value in ranges.values())

    static_dir = tmp_path / "static"
    static_dir.mkdir()
    assert write_static_int8(plain_dir / "model.onnx", static_dir / "model.onnx", ranges) == len(
        products
    )
    static = onnx.load(str(static_dir / "model.onnx"), load_external_data=False)
    kinds = [n.op_type for n in static.graph.node]
    assert kinds.count("QuantizeLinear") == len(products)
    assert kinds.count("DequantizeLinear") == 2 * len(products)
    int8_weights = [t for t in static.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len([t for t in int8_weights if len(t.dims) == 2]) == len(products)

    for name in ("tokenizer.json", "model_card.json"):
        (static_dir / name).write_bytes((plain_dir / name).read_bytes())
    quantised = OpenVinoEncoder(static_dir, "fp32").encode(sentences, "passage")
    cosines = np.sum(quantised * plain_fp32.encode(sentences, "passage"), 1)
    # The same texts, moved by int8: near the float vectors, never equal to them.
    assert float(cosines.min()) >= 0.8 and float(cosines.max()) < 0.9999
