"""Torch-side encoding shared by teacher and student: tokenise, run a BertModel, mean-pool over
the attention mask, L2-normalise: the same arithmetic as the ONNX runtime (`app.encoder`)."""

from __future__ import annotations

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


def embed(model: BertModel, tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
    """(len(texts), hidden) unit vectors; gradients flow when the caller allows them."""
    ids, mask = batch_inputs(tokenizer, texts)
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    return mean_pool(hidden, mask)
