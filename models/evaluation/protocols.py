"""Prefix protocols: which `kind` each side of a retrieval task is encoded as.

multilingual-e5 was trained with `query: ` / `passage: `. *Asymmetric* encodes the query
side as a query and the candidates as passages (what the service does); *symmetric* encodes
both sides as queries. Encoders without prefixes have one protocol only.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.encoder import TextKind


@dataclass(frozen=True)
class Protocol:
    name: str
    query_kind: TextKind
    candidate_kind: TextKind


ASYMMETRIC = Protocol("asymmetric", "query", "passage")
SYMMETRIC = Protocol("symmetric", "query", "query")
PROTOCOLS = (ASYMMETRIC, SYMMETRIC)


def protocols_for(uses_kind: bool) -> tuple[Protocol, ...]:
    return PROTOCOLS if uses_kind else (ASYMMETRIC,)
