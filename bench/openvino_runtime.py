"""The encoder graph in OpenVINO, for `python -m bench.graph_variants --openvino`.

Two rows beside onnxruntime's, from the same plain fp32 graph (OpenVINO reads standard ONNX ops,
not onnxruntime's contrib kernels, so neither the fused nor the served int8 graph):

- `OpenVinoEncoder` runs a graph as it is. OpenVINO picks the precision: bfloat16 on a CPU
  with AMX or AVX-512 BF16, float32 elsewhere (the row's name says which).
- `write_static_int8` turns it into OpenVINO's int8 form: each linear layer's weight int8 with
  one scale per output column, its input quantised with one fixed scale per tensor (the
  99.99th percentile of |x| over calibration passages), written as QuantizeLinear /
  DequantizeLinear pairs that OpenVINO runs as integer GEMMs (AMX or VNNI). Fixed scales make a
  text's vector independent of its batch; per-row scales, which the served int8 graph computes
  as it runs (docs/bench/int8.md), OpenVINO has no kernel for. Calibrate on training-side text
  (`calibration_passages`: Quran verses), never on the held-out UDHR.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from app.encoder import Embeddings, GraphSession, OnnxEncoder
from models.highlight_fit import quran_verses
from models.onnx_export import int8_columns

# |x| percentile that sets an activation's fixed scale: the few larger values are clipped.
ACTIVATION_PERCENTILE = 99.99
CALIBRATION_VERSES = 3  # consecutive verses per calibration passage
CALIBRATION_PER_LANGUAGE = 12
CALIBRATION_BATCH = 8


def openvino_session(graph: Path, threads: int) -> GraphSession:
    import openvino  # a benchmark dependency (the dev extra), never the service's

    core = openvino.Core()
    compiled = core.compile_model(
        core.read_model(str(graph)), "CPU", {"INFERENCE_NUM_THREADS": threads}
    )
    return _CompiledGraph(compiled)


def openvino_precision() -> str:
    """The float precision OpenVINO runs a graph's float ops in here: bf16 or f32."""
    import openvino

    return str(openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").to_string())


class _CompiledGraph:
    """An OpenVINO compiled model behind onnxruntime's `run`: one infer request, so one call
    at a time (the benchmark's calls come one by one)."""

    def __init__(self, compiled: Any) -> None:
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()

    def run(
        self, output_names: list[str], input_feed: dict[str, npt.NDArray[np.int64]]
    ) -> list[Embeddings]:
        with self._lock:
            self._request.infer(input_feed)
            return [np.array(self._request.get_tensor(name).data) for name in output_names]


class OpenVinoEncoder(OnnxEncoder):
    """The service's encoder (tokenising, batching, pooling) over an OpenVINO session."""

    open_session = staticmethod(openvino_session)


def calibration_passages(seed: int = 0) -> list[str]:
    """Passages of consecutive Quran verses (training-side data), the same in every run."""
    rng = random.Random(seed)
    passages = []
    for verses in (v for _, v in sorted(quran_verses().items())):
        starts = rng.sample(range(len(verses) - CALIBRATION_VERSES), CALIBRATION_PER_LANGUAGE)
        passages += [" ".join(verses[s : s + CALIBRATION_VERSES]) for s in starts]
    return passages


def _weight_products(graph: onnx.ModelProto) -> list[onnx.NodeProto]:
    weights = {tensor.name for tensor in graph.graph.initializer}
    return [n for n in graph.graph.node if n.op_type == "MatMul" and n.input[1] in weights]


def activation_ranges(
    plain: Path, encoder: OnnxEncoder, passages: Sequence[str]
) -> dict[str, float]:
    """For each linear layer's input tensor, the `ACTIVATION_PERCENTILE` of its |values| over
    the passages' tokens (padding left out; a passage longer than the window left out too), run
    in onnxruntime."""
    limit = encoder.card.max_seq_length
    passages = [p for p in passages if encoder.count_tokens(p, "passage") <= limit]
    graph = onnx.load(str(plain))
    inputs = sorted({n.input[0] for n in _weight_products(graph)})
    for name in inputs:
        graph.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    seen: dict[str, list[npt.NDArray[np.float32]]] = {name: [] for name in inputs}
    for first in range(0, len(passages), CALIBRATION_BATCH):
        ids, mask = encoder.padded(passages[first : first + CALIBRATION_BATCH], "passage")
        outputs = session.run(inputs, {"input_ids": ids, "attention_mask": mask})
        for name, values in zip(inputs, outputs, strict=True):
            seen[name].append(np.abs(values[mask.astype(bool)]).ravel())
    return {
        name: float(np.percentile(np.concatenate(parts), ACTIVATION_PERCENTILE))
        for name, parts in seen.items()
    }


def write_static_int8(plain: Path, target: Path, ranges: dict[str, float]) -> int:
    """`plain` with every linear layer in int8 (see the module's docstring), written to
    `target`. Returns how many layers."""
    graph = onnx.load(str(plain))
    weights = {tensor.name: tensor for tensor in graph.graph.initializer}
    products = _weight_products(graph)
    nodes = []
    for node in graph.graph.node:
        if node in products:
            nodes += _quantised_inputs(graph, node, weights[node.input[1]], ranges[node.input[0]])
        nodes.append(node)
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    onnx.save(graph, str(target), save_as_external_data=True, location=f"{target.name}.data")
    return len(products)


def _quantised_inputs(
    graph: onnx.ModelProto, node: onnx.NodeProto, weight: onnx.TensorProto, activation_range: float
) -> list[onnx.NodeProto]:
    """Rewires `node` (x @ W) to read dequantised int8 W and x; returns the nodes to put first."""
    # The graph holds the [out, in] weight transposed; its codes are the served int8 graph's.
    codes, column_scales = int8_columns(numpy_helper.to_array(weight).astype(np.float32).T)
    x_scale = np.array(max(activation_range, 1e-12) / 127, np.float32)
    x, w, name = node.input[0], weight.name, node.name
    graph.graph.initializer.remove(weight)
    graph.graph.initializer.extend(
        [
            numpy_helper.from_array(codes, f"{w}_int8"),
            numpy_helper.from_array(column_scales, f"{w}_scale"),
            numpy_helper.from_array(np.zeros_like(codes[0]), f"{w}_zero"),
            numpy_helper.from_array(x_scale, f"{name}_x_scale"),
            numpy_helper.from_array(np.array(0, np.int8), f"{name}_x_zero"),
        ]
    )
    node.input[0], node.input[1] = f"{name}_x_dequantised", f"{w}_dequantised"
    return [
        helper.make_node(
            "DequantizeLinear",
            [f"{w}_int8", f"{w}_scale", f"{w}_zero"],
            [f"{w}_dequantised"],
            axis=1,
        ),
        helper.make_node(
            "QuantizeLinear", [x, f"{name}_x_scale", f"{name}_x_zero"], [f"{name}_x_int8"]
        ),
        helper.make_node(
            "DequantizeLinear",
            [f"{name}_x_int8", f"{name}_x_scale", f"{name}_x_zero"],
            [f"{name}_x_dequantised"],
        ),
    ]
