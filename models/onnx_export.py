"""BERT encoder -> ONNX graph, written with onnx.helper straight from a numpy state dict.

No torch exporter: any BERT-shaped state dict (the dequantised teacher, a distilled student with
fewer layers) goes through the same code. Graph contract: inputs `input_ids` and
`attention_mask` (int64 [batch, seq], right padded), output `last_hidden_state`
(float32 [batch, seq, hidden]); position ids 0..seq-1, token type 0.

Three choices shape the graph (`GraphOptions`):
- `fused`: each layer's attention is one com.microsoft MultiHeadAttention kernel over one
  packed Q/K/V projection, and its GELU one BiasGelu, instead of ~20 plain ops (onnxruntime's
  own optimiser fuses the plain graph's GELU and LayerNorm but never its attention). On 2
  cores it cut short-query latency by ~20% (docs/bench/graph_variants.md), so the served
  graphs are fused (`models.build.SERVED_FP32`); the plain graph is the reference the fused
  one is tested against, and what a runtime without onnxruntime's contrib ops would need.
- `int8_linears`: every linear layer in int8, so that a text's vector depends on nothing but the
  text and texts may share a call (onnxruntime's dynamic quantisation, `models.quantize`,
  picks one activation scale per call instead). `int8_kernel` says how:
  - `rows`: weights int8 with one scale per output column; each input row (a token's vector)
    is quantised with its own scale as the graph runs (standard QuantizeLinear, one block per
    row), then multiplied by onnxruntime's integer GEMM (com.microsoft MatMulIntegerToFloat,
    the VNNI path, which applies the column scales as it writes its output). In a fused layer, Q,
    K and V are three such products of one quantisation of their common input (no packed
    projection to split). 1.4-1.9x the batched passages/s of `blocks` on 2 AMD EPYC cores
    (`python -m bench.graph_variants`).
  - `blocks`: weights as 8-bit blocks of `WEIGHT_BLOCK` inputs (com.microsoft MatMulNBits at
    accuracy level 4, which quantises its input per row and block): a finer grid, a slower
    kernel.
- `int8_embeddings`: the word-embedding table blockwise int8, rescaled after the lookup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.bert import BertConfig, StateDict

OPSET = 21  # blocked QuantizeLinear (one scale per row of a 3-D tensor) from 21
CONTRIB = "com.microsoft"  # onnxruntime's contrib ops (fused kernels, int8 GEMMs)
IR_VERSION = 10  # opset 21; onnxruntime 1.18 and later
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT = "last_hidden_state"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
EMBEDDING_BLOCK = 32  # values sharing one scale in the int8 word-embedding table
WEIGHT_BLOCK = 32  # values along the input axis sharing one scale in an int8 linear weight
# MatMulNBits accuracy level 4: int8 activations (per row and block) times int8 weights, the
# VNNI path; lower levels dequantise the weights to float and multiply in float.
ACCURACY_INT8 = 4
ROW_ZERO_POINT = 128  # `rows`: a row's codes are uint8 around 128 (the u8 x s8 integer GEMM)


Int8Kernel = Literal["rows", "blocks"]


@dataclass(frozen=True)
class GraphOptions:
    """How the graph is written: fused contrib kernels or plain ONNX, int8 or float weights."""

    fused: bool = False
    int8_embeddings: bool = False  # the word-embedding table blockwise int8
    int8_linears: bool = False  # linear layers in int8, as `int8_kernel` says
    int8_kernel: Int8Kernel = "rows"

    @property
    def int8_rows(self) -> bool:
        """Linear layers as `rows` int8: activations quantised per row, integer GEMMs."""
        return self.int8_linears and self.int8_kernel == "rows"


@dataclass
class _GraphBuilder:
    """Accumulates nodes and initializers; every helper returns its output's name."""

    options: GraphOptions = field(default_factory=GraphOptions)
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    _count: int = 0
    _constants: set[str] = field(default_factory=set)
    _shared: dict[str, str] = field(default_factory=dict)  # computed once per graph

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, name: str, value: npt.NDArray[np.generic]) -> str:
        """An initializer; a name used again (shape constants shared by layers) is reused."""
        if name in self._constants:
            return name
        self._constants.add(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(
        self, op_type: str, inputs: list[str], hint: str = "", domain: str = "", **attrs: Any
    ) -> str:
        out = self._name(hint or op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=out, domain=domain or None, **attrs)
        )
        return out

    def matmul(self, x: str, weight: npt.NDArray[np.float32], prefix: str) -> str:
        """x @ weight.T for a [out, in] weight: a float MatMul with the weight stored
        transposed, or int8 as `options.int8_kernel` says."""
        if self.options.int8_rows:
            return self._matmul_int8_rows(x, weight, prefix)
        if not self.options.int8_linears:
            return self.op("MatMul", [x, self.const(f"{prefix}.weight_t", weight.T)], prefix)
        packed, scales = matmul_nbits_int8(weight)
        out_features, in_features = weight.shape
        return self.op(
            "MatMulNBits",
            [x, self.const(f"{prefix}.weight_q8", packed), self.const(f"{prefix}.scales", scales)],
            prefix,
            domain=CONTRIB,
            K=in_features,
            N=out_features,
            bits=8,
            block_size=WEIGHT_BLOCK,
            accuracy_level=ACCURACY_INT8,
        )

    def _matmul_int8_rows(self, x: str, weight: npt.NDArray[np.float32], prefix: str) -> str:
        """x [batch, seq, in] as rows, each quantised with its own scale max|row| / 127
        (uint8 around 128), times the weight int8 per output column (`int8_rows_product`)."""
        return self.int8_rows_product(
            self.quantised_rows(x, weight.shape[1], prefix), weight, prefix
        )

    def quantised_rows(self, x: str, width: int, prefix: str) -> tuple[str, str]:
        """x [batch, seq, width] as uint8 rows around 128, each with its own scale
        max|row| / 127; returns the codes [batch, seq, width] and the scales [batch, seq, 1].
        One block of `width` values per row (QuantizeLinear's blocked form): no reshape to 2-D
        and back around every product, a query's graph runs ~300 fewer tiny ops."""
        axis = self.const("last_axis", np.array([-1], np.int64))
        inv127 = self.const("inv127", np.array(1 / 127, np.float32))
        neg_inv127 = self.const("neg_inv127", np.array(-1 / 127, np.float32))
        # max|row| / 127 as max(max * (1/127), min * (-1/127), smallest): two reads of the
        # row, no |x| copy written in between; the same float as max(max, -min) / 127.
        scale = self.op(
            "Max",
            [
                self.op("Mul", [self.op("ReduceMax", [x, axis], prefix), inv127], prefix),
                self.op("Mul", [self.op("ReduceMin", [x, axis], prefix), neg_inv127], prefix),
                self.const("smallest_scale", np.array(1e-12, np.float32)),
            ],
            f"{prefix}.row_scale",
        )
        quantised = self.op(
            "QuantizeLinear", [x, scale, self._row_zero_points()], prefix, axis=-1, block_size=width
        )
        return quantised, scale

    def _row_zero_points(self) -> str:
        """[batch, seq, 1] of ROW_ZERO_POINT, from the input ids' shape (built once)."""
        key = "row_zero_points"
        if key not in self._shared:
            shape = self.op(
                "Concat",
                [
                    self.op("Shape", [INPUT_IDS], "ids_shape"),
                    self.const("one_column", np.array([1], np.int64)),
                ],
                "row_scale_shape",
                axis=0,
            )
            self._shared[key] = self.op(
                "ConstantOfShape",
                [shape],
                key,
                value=numpy_helper.from_array(np.array([ROW_ZERO_POINT], np.uint8)),
            )
        return self._shared[key]

    def int8_rows_product(
        self, rows: tuple[str, str], weight: npt.NDArray[np.float32], prefix: str
    ) -> str:
        """Quantised rows times the [out, in] weight int8 per output column: onnxruntime's
        MatMulIntegerToFloat rescales the int32 products by the column scales as it writes
        them, one Mul applies the row scales; [batch, seq, out]."""
        quantised, row_scales = rows
        quants, column_scales = int8_columns(weight)
        products = self.op(
            "MatMulIntegerToFloat",
            [
                quantised,
                self.const(f"{prefix}.weight_int8", quants),
                self.const("unit_scale", np.array(1.0, np.float32)),
                self.const(f"{prefix}.column_scales", column_scales),
                self.const("row_zero_point", np.array(ROW_ZERO_POINT, np.uint8)),
            ],
            prefix,
            domain=CONTRIB,
        )
        return self.op("Mul", [products, row_scales], prefix)

    def linear(self, x: str, state: StateDict, prefix: str) -> str:
        """x @ W^T + b (W as the state dict holds it, [out, in])."""
        bias = self.const(f"{prefix}.bias", state[f"{prefix}.bias"])
        return self.op("Add", [self.matmul(x, state[f"{prefix}.weight"], prefix), bias], prefix)

    def layer_norm(self, x: str, state: StateDict, prefix: str, eps: float) -> str:
        scale = self.const(f"{prefix}.weight", state[f"{prefix}.weight"])
        bias = self.const(f"{prefix}.bias", state[f"{prefix}.bias"])
        return self.op("LayerNormalization", [x, scale, bias], prefix, axis=-1, epsilon=eps)


def _blockwise_int8(
    table: npt.NDArray[np.float32], block: int
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Symmetric int8 with one scale per `block` consecutive values of each row."""
    rows, width = table.shape
    blocks = table.reshape(rows, width // block, block)
    scales = np.abs(blocks).max(axis=2) / 127.0
    safe = np.where(scales > 0, scales, 1.0)[..., None]
    quants = np.clip(np.rint(blocks / safe), -127, 127).astype(np.int8)
    return quants.reshape(rows, width), scales.astype(np.float32)


def int8_rows(
    matrix: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Symmetric int8 per row: matrix ~= q * scale[:, None], |q| <= 127 (an all-zero row:
    codes 0, scale 0). The released students' linear weights are stored this way too."""
    quants, scales = _blockwise_int8(matrix, matrix.shape[1])
    return quants, scales[:, 0]


def int8_columns(
    weight: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """A [out, in] weight as MatMulIntegerToFloat's [in, out] int8 operand, symmetric (|q| <= 127)
    with one scale per output column (`int8_rows` of the [out, in] weight, transposed)."""
    quants, scales = int8_rows(weight)
    return np.ascontiguousarray(quants.T), scales


def matmul_nbits_int8(
    weight: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """A [out, in] weight as MatMulNBits' 8-bit operands: codes [out, in / block, block] and
    scales [out, in / block]. Symmetric (|q| <= 127) around MatMulNBits' default zero point
    128, so no zero-point tensor is stored."""
    if weight.shape[1] % WEIGHT_BLOCK:
        raise ValueError(f"input width {weight.shape[1]} is not a multiple of {WEIGHT_BLOCK}")
    quants, scales = _blockwise_int8(weight, WEIGHT_BLOCK)
    codes = (quants.astype(np.int16) + 128).astype(np.uint8)
    return codes.reshape(weight.shape[0], -1, WEIGHT_BLOCK), scales


def _word_embeddings(g: _GraphBuilder, state: StateDict, ids: str) -> str:
    table = state[WORD_EMBEDDINGS]
    hidden = table.shape[1]
    if not g.options.int8_embeddings or hidden % EMBEDDING_BLOCK:
        return g.op("Gather", [g.const(WORD_EMBEDDINGS, table), ids], "word_embeddings")
    # Look rows up in int8 and rescale only the gathered rows: the table stays 1 byte/value.
    quants, scales = _blockwise_int8(table, EMBEDDING_BLOCK)
    rows = g.op("Gather", [g.const(f"{WORD_EMBEDDINGS}.int8", quants), ids], "word_int8")
    row_scales = g.op("Gather", [g.const(f"{WORD_EMBEDDINGS}.scale", scales), ids], "word_scale")
    blocked_shape = g.const("word_blocked_shape", np.array([0, 0, -1, EMBEDDING_BLOCK], np.int64))
    blocked = g.op(
        "Reshape", [g.op("Cast", [rows], "word_f32", to=TensorProto.FLOAT), blocked_shape]
    )
    axis = g.const("word_scale_axis", np.array([-1], np.int64))
    scaled = g.op("Mul", [blocked, g.op("Unsqueeze", [row_scales, axis])], "word_dequant")
    flat_shape = g.const("word_flat_shape", np.array([0, 0, hidden], np.int64))
    return g.op("Reshape", [scaled, flat_shape], "word_embeddings")


def _embeddings(g: _GraphBuilder, config: BertConfig, state: StateDict) -> str:
    words = _word_embeddings(g, state, INPUT_IDS)
    # positions 0..seq-1: slice the first `seq` rows of the position table
    seq_len = g.op(
        "Slice",
        [
            g.op("Shape", [INPUT_IDS], "ids_shape"),
            g.const("one", np.array([1], np.int64)),
            g.const("two", np.array([2], np.int64)),
        ],
        "seq_len",
    )
    zero = g.const("zero", np.array([0], np.int64))
    positions = g.op(
        "Slice",
        [
            g.const(
                "embeddings.position_embeddings.weight",
                state["embeddings.position_embeddings.weight"],
            ),
            zero,
            seq_len,
            zero,
        ],
        "position_embeddings",
    )
    token_type = g.const("token_type_0", state["embeddings.token_type_embeddings.weight"][0])
    summed = g.op("Add", [g.op("Add", [words, positions]), token_type], "embeddings_sum")
    return g.layer_norm(summed, state, "embeddings.LayerNorm", config.layer_norm_eps)


def _attention_bias(g: _GraphBuilder) -> str:
    """(1 - mask) * float32.min as [batch, 1, 1, seq], added to the attention scores."""
    mask = g.op("Cast", [ATTENTION_MASK], "mask_f32", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.const("one_f32", np.array(1.0, np.float32)), mask], "mask_inv")
    big_negative = g.const("mask_min", np.array(np.finfo(np.float32).min, np.float32))
    bias = g.op("Mul", [inverted, big_negative], "mask_bias")
    return g.op("Unsqueeze", [bias, g.const("mask_axes", np.array([1, 2], np.int64))])


def _self_attention(
    g: _GraphBuilder, x: str, bias: str, config: BertConfig, state: StateDict, prefix: str
) -> str:
    heads_shape = g.const(
        "heads_shape", np.array([0, 0, config.num_attention_heads, config.head_size], np.int64)
    )

    def split_heads(name: str, perm: list[int]) -> str:
        projected = g.linear(x, state, f"{prefix}.attention.self.{name}")
        return g.op("Transpose", [g.op("Reshape", [projected, heads_shape])], perm=perm)

    query = split_heads("query", [0, 2, 1, 3])  # [b, h, s, d]
    key = split_heads("key", [0, 2, 3, 1])  # [b, h, d, s]
    value = split_heads("value", [0, 2, 1, 3])
    scale = g.const("attention_scale", np.array(1.0 / math.sqrt(config.head_size), np.float32))
    scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [query, key]), scale]), bias], "scores")
    probs = g.op("Softmax", [scores], "probs", axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, value])], perm=[0, 2, 1, 3])
    merged_shape = g.const("merged_shape", np.array([0, 0, config.hidden_size], np.int64))
    return g.op("Reshape", [context, merged_shape], "context")


def _fused_self_attention(
    g: _GraphBuilder, x: str, key_mask: str, config: BertConfig, state: StateDict, prefix: str
) -> str:
    """Q, K and V, then onnxruntime's MultiHeadAttention kernel, which adds the three biases
    and masks padded keys itself. In float (and `blocks`) one projection to packed Q|K|V (a
    third of the MatMul calls), split; with `rows`, three integer GEMMs of one quantisation
    of `x`, which skips the split's copy."""
    names = [f"{prefix}.attention.self.{n}" for n in ("query", "key", "value")]
    qkv_bias = g.const(
        f"{prefix}.attention.self.qkv.bias",
        np.concatenate([state[f"{n}.bias"] for n in names]),
    )
    hidden = config.hidden_size
    if g.options.int8_rows:
        rows = g.quantised_rows(x, hidden, f"{prefix}.attention.self")
        outputs = [g.int8_rows_product(rows, state[f"{n}.weight"], n) for n in names]
    else:
        weight = np.concatenate([state[f"{n}.weight"] for n in names], axis=0)
        packed = g.matmul(x, weight, f"{prefix}.attention.self.qkv")
        outputs = [g._name(f"{prefix}.{n}") for n in ("q", "k", "v")]
        split = g.const("qkv_split", np.array([hidden, hidden, hidden], np.int64))
        g.nodes.append(
            helper.make_node("Split", [packed, split], outputs, name=g._name("qkv_split"), axis=-1)
        )
    return g.op(
        "MultiHeadAttention",
        [*outputs, qkv_bias, key_mask],
        "context",
        domain=CONTRIB,
        num_heads=config.num_attention_heads,
        scale=1.0 / math.sqrt(config.head_size),
    )


def _gelu(g: _GraphBuilder, x: str) -> str:
    """Exact (erf) GELU; onnxruntime fuses this pattern into its Gelu kernel."""
    scaled = g.op("Div", [x, g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))])
    one_plus = g.op("Add", [g.op("Erf", [scaled]), g.const("one_gelu", np.array(1.0, np.float32))])
    half = g.const("half", np.array(0.5, np.float32))
    return g.op("Mul", [g.op("Mul", [x, one_plus]), half], "gelu")


def _layer(
    g: _GraphBuilder, x: str, bias: str, config: BertConfig, state: StateDict, index: int
) -> str:
    prefix = f"encoder.layer.{index}"
    eps = config.layer_norm_eps
    context = _self_attention(g, x, bias, config, state, prefix)
    attended = g.linear(context, state, f"{prefix}.attention.output.dense")
    x = g.layer_norm(g.op("Add", [attended, x]), state, f"{prefix}.attention.output.LayerNorm", eps)
    inner = _gelu(g, g.linear(x, state, f"{prefix}.intermediate.dense"))
    out = g.linear(inner, state, f"{prefix}.output.dense")
    return g.layer_norm(g.op("Add", [out, x]), state, f"{prefix}.output.LayerNorm", eps)


def _add_layer_norm(
    g: _GraphBuilder, x: str, residual: str, state: StateDict, dense: str, norm: str, eps: float
) -> str:
    """LayerNorm(x + b + residual), `x` being the bias-less MatMul output. Plain Add, Add,
    LayerNormalization rather than com.microsoft SkipLayerNormalization: on 2 cores that kernel
    took several times as long as the three plain ops (profiled, onnxruntime 1.31)."""
    biased = g.op("Add", [x, g.const(f"{dense}.bias", state[f"{dense}.bias"])], dense)
    return g.layer_norm(g.op("Add", [biased, residual]), state, norm, eps)


def _fused_layer(
    g: _GraphBuilder, x: str, key_mask: str, config: BertConfig, state: StateDict, index: int
) -> str:
    prefix = f"encoder.layer.{index}"
    eps = config.layer_norm_eps
    context = _fused_self_attention(g, x, key_mask, config, state, prefix)
    dense = f"{prefix}.attention.output.dense"
    attended = g.matmul(context, state[f"{dense}.weight"], dense)
    norm = f"{prefix}.attention.output.LayerNorm"
    x = _add_layer_norm(g, attended, x, state, dense, norm, eps)
    intermediate = f"{prefix}.intermediate.dense"
    inner = g.op(
        "BiasGelu",
        [
            g.matmul(x, state[f"{intermediate}.weight"], intermediate),
            g.const(f"{intermediate}.bias", state[f"{intermediate}.bias"]),
        ],
        "gelu",
        domain=CONTRIB,
    )
    dense = f"{prefix}.output.dense"
    out = g.matmul(inner, state[f"{dense}.weight"], dense)
    return _add_layer_norm(g, out, x, state, dense, f"{prefix}.output.LayerNorm", eps)


def bert_to_onnx(
    config: BertConfig, state: StateDict, options: GraphOptions | None = None
) -> onnx.ModelProto:
    """The encoder graph, written as `options` say (plain float32 by default)."""
    options = options or GraphOptions()
    g = _GraphBuilder(options)
    x = _embeddings(g, config, state)
    if options.fused:
        key_mask = g.op("Cast", [ATTENTION_MASK], "key_mask", to=TensorProto.INT32)
        for index in range(config.num_hidden_layers):
            x = _fused_layer(g, x, key_mask, config, state, index)
    else:
        bias = _attention_bias(g)
        for index in range(config.num_hidden_layers):
            x = _layer(g, x, bias, config, state, index)
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT], name=OUTPUT))
    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        g.nodes,
        "bert_encoder",
        inputs=[
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, dims),
            helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT64, dims),
        ],
        outputs=[
            helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [*dims, config.hidden_size])
        ],
        initializer=g.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    if options.fused or options.int8_linears:
        opsets.append(helper.make_opsetid(CONTRIB, 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="polyglot-search")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
