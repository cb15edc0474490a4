"""UDHR bitext retrieval: each paragraph of a translation retrieves its English paragraph
among all English paragraphs (xx->en), and the other way round (en->xx)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.evaluation.encoders import EvalEncoder
from models.evaluation.metrics import accuracy_at_1
from models.evaluation.protocols import Protocol
from models.evaluation.udhr_data import ENGLISH, AlignedText


@dataclass(frozen=True)
class BitextScore:
    code: str
    name: str
    seen_in_pretraining: bool
    paragraphs: int
    xx_to_en: float
    en_to_xx: float

    @property
    def mean(self) -> float:
        return (self.xx_to_en + self.en_to_xx) / 2


def bitext_scores(
    encoder: EvalEncoder,
    texts: dict[str, AlignedText],
    codes: Sequence[str],
    protocol: Protocol,
) -> list[BitextScore]:
    english = texts[ENGLISH]
    en_query = encoder.encode(english.paragraphs, protocol.query_kind)
    en_candidate = encoder.encode(english.paragraphs, protocol.candidate_kind)
    en_row = {unit: i for i, unit in enumerate(english.unit_ids)}
    scores = []
    for code in codes:
        other = texts[code]
        rows = np.array([en_row[unit] for unit in other.unit_ids])
        xx_query = encoder.encode(other.paragraphs, protocol.query_kind)
        xx_candidate = (
            xx_query
            if protocol.candidate_kind == protocol.query_kind
            else encoder.encode(other.paragraphs, protocol.candidate_kind)
        )
        targets = np.arange(len(rows), dtype=np.int64)
        scores.append(
            BitextScore(
                code=code,
                name=other.name,
                seen_in_pretraining=other.seen_in_pretraining,
                paragraphs=len(rows),
                xx_to_en=accuracy_at_1(xx_query @ en_candidate[rows].T, targets),
                en_to_xx=accuracy_at_1(en_query[rows] @ xx_candidate.T, targets),
            )
        )
    return scores


def macro_averages(scores: Sequence[BitextScore]) -> dict[str, dict[str, float | int]]:
    """Macro acc@1 (both directions and their mean) over all, seen and unseen languages."""
    groups = {
        "all": list(scores),
        "seen": [s for s in scores if s.seen_in_pretraining],
        "unseen": [s for s in scores if not s.seen_in_pretraining],
    }
    out: dict[str, dict[str, float | int]] = {}
    for group, members in groups.items():
        if not members:
            continue
        out[group] = {
            "languages": len(members),
            "xx_to_en": float(np.mean([s.xx_to_en for s in members])),
            "en_to_xx": float(np.mean([s.en_to_xx for s in members])),
            "mean": float(np.mean([s.mean for s in members])),
        }
    return out
