"""Opt-in truncation (`truncate: true` on the embedding routes, as TEI and other embedding
servers offer): a text longer than the model's window is cut at a token boundary to fit it,
instead of the 413 it gets by default."""

from __future__ import annotations

from collections.abc import Sequence

from app.encoder import Encoder, TextKind


def fit_to_window(encoder: Encoder, texts: Sequence[str], kind: TextKind) -> list[str]:
    """Each text, or its longest prefix (cut after a whole token) that the model takes whole."""
    return [_fit(encoder, text, kind) for text in texts]


def _fit(encoder: Encoder, text: str, kind: TextKind) -> str:
    window = encoder.card.max_seq_length
    if encoder.count_tokens(text, kind) <= window:
        return text
    tokens = encoder.tokenizer.encode(text, add_special_tokens=False)
    keep = min(encoder.content_token_limit(kind), len(tokens.ids))
    while keep > 1:
        cut = text[: tokens.offsets[keep - 1][1]]
        # With the prefix in front a cut can tokenise one token longer: step back until it fits.
        if encoder.count_tokens(cut, kind) <= window:
            return cut
        keep -= 1
    return text[: tokens.offsets[0][1]]
