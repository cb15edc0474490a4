"""Torch-side encoding shared by teacher and student: tokenise, run a BertModel, mean-pool over
the attention mask, L2-normalise: the same arithmetic as the ONNX runtime (`app.encoder`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import BertModel


def load_tokenizer(path: Path, max_seq_len: int) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_seq_len)
    pad_id = tokenizer.token_to_id("<pad>") or 0
    tokenizer.enable_padding(pad_id=pad_id, pad_token="<pad>")
    return tokenizer


def batch_inputs(tokenizer: Tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encodings = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
    return ids, mask


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def training_device() -> torch.device:
    """CUDA where a GPU is present, else the CPU: every recipe runs on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_autocast(enabled: bool, device: torch.device | None = None) -> torch.autocast:
    """The `train.bf16` switch: bfloat16 autocast for model passes (student loop, teacher
    passes) on the model's device; a no-op context when off."""
    kind = device.type if device is not None else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=enabled)


def embed(model: BertModel, tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
    """(len(texts), hidden) unit vectors on the model's device; gradients flow when the caller
    allows them."""
    ids, mask = (t.to(model.device) for t in batch_inputs(tokenizer, texts))
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    return mean_pool(hidden.float(), mask)  # float32 pooling under a bf16 autocast too


LENGTH_GROUPS = 2  # a training batch mixes phrases and sentences: the short ones pad less


@dataclass(frozen=True)
class TokenBatch:
    """Some of a batch's texts (`rows`), tokenised and padded together."""

    rows: list[int]
    ids: torch.Tensor
    mask: torch.Tensor


def length_groups(
    tokenizer: Tokenizer, texts: list[str], groups: int = LENGTH_GROUPS
) -> list[TokenBatch]:
    """`texts` in `groups` batches by length, each padded only to its own longest text."""
    encodings = tokenizer.encode_batch(texts)
    lengths = [sum(e.attention_mask) for e in encodings]
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    size = -(-len(texts) // groups)
    batches = []
    for start in range(0, len(texts), size):
        rows = order[start : start + size]
        width = lengths[rows[-1]]  # rows are sorted by length
        ids = torch.tensor([encodings[i].ids[:width] for i in rows], dtype=torch.long)
        mask = torch.tensor([encodings[i].attention_mask[:width] for i in rows], dtype=torch.long)
        batches.append(TokenBatch(rows, ids, mask))
    return batches


@dataclass(frozen=True)
class Encoded:
    """A model pass over texts run as `length_groups`: the unit vectors in the given order,
    and each group's last hidden states (for token-level terms)."""

    vectors: torch.Tensor
    batches: list[TokenBatch]
    states: list[torch.Tensor]


def encode_by_length(
    model: BertModel, tokenizer: Tokenizer, texts: list[str], bf16: bool = False
) -> Encoded:
    """`embed` of `texts` run as `length_groups` (less padding), vectors in the given order.
    `bf16`: bfloat16 autocast for the model; the pooling stays float32."""
    device = model.device
    batches = length_groups(tokenizer, texts)
    masks = [b.mask.to(device) for b in batches]
    with bf16_autocast(bf16, device):
        states = [
            model(input_ids=b.ids.to(device), attention_mask=mask).last_hidden_state
            for b, mask in zip(batches, masks, strict=True)
        ]
    vectors = torch.cat([mean_pool(h.float(), m) for h, m in zip(states, masks, strict=True)])
    rows = torch.tensor([row for b in batches for row in b.rows], device=device)
    return Encoded(vectors[torch.argsort(rows)], batches, states)
