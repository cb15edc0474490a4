"""fp32 ONNX -> int8 ONNX with onnxruntime's dynamic quantisation: the int8 of builder v2, kept
for `python -m bench.graph_variants`' comparison row. The served int8 graph is written directly
with activations quantised per row (`models.onnx_export`), because dynamic quantisation picks
one activation scale per onnxruntime call: texts sharing a call move each other's vectors, and
on the development split it cost 2.4 points of UDHR acc@1 against fp32 (per row: 0.1).

Weights of every MatMul with a constant weight become per-channel int8; activations are
quantised at run time. Attention MatMuls (both sides activations) stay float: quantising them
costs accuracy and saves no memory. The word-embedding table is already int8 in the graph
that `bert_to_onnx(..., GraphOptions(int8_embeddings=True))` writes. Weights use 7 bits
(`reduce_range`): on CPUs without VNNI the u8 x s8 kernels can saturate otherwise; measured on
the multilingual sample it lifts cosine to fp32 from 0.9958 to 0.9966.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic


def _activation_matmuls(model: onnx.ModelProto) -> list[str]:
    constants = {init.name for init in model.graph.initializer}
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and not any(name in constants for name in node.input)
    ]


def quantize_int8(source: Path, target: Path) -> None:
    """Write the dynamically quantised copy of `source` to `target`."""
    model = onnx.load(str(source))
    quantize_dynamic(
        model_input=source,
        model_output=target,
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        reduce_range=True,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=_activation_matmuls(model),
        # Shape inference stops at contrib ops (MultiHeadAttention): their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
