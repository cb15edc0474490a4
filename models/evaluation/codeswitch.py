"""Code-switched queries: half a paragraph in language X, half in English (both orders),
retrieving the same paragraph in a *third* language among that language's paragraphs.

Targets in English or X would share words with the query verbatim, which plain string
overlap solves; the English target is reported as that control only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.evaluation.encoders import EvalEncoder
from models.evaluation.metrics import accuracy_at_1
from models.evaluation.protocols import Protocol
from models.evaluation.udhr_data import ENGLISH, AlignedText

THIRD_LANGUAGES = ("rus",)  # another script: not even cognates are shared verbatim
SOURCE_LANGUAGES = 5


def _halves(text: str) -> tuple[str, str]:
    """Split at the space nearest the middle (at the middle for scripts without spaces)."""
    middle = len(text) // 2
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - middle)) if spaces else middle
    return text[:cut].strip(), text[cut:].strip()


def code_switched(xx: str, en: str, english_first: bool) -> str:
    if english_first:
        return f"{_halves(en)[0]} {_halves(xx)[1]}"
    return f"{_halves(xx)[0]} {_halves(en)[1]}"


def codeswitch_scores(
    encoder: EvalEncoder, texts: dict[str, AlignedText], codes: Sequence[str], protocol: Protocol
) -> dict[str, Any]:
    sources = [c for c in codes if c not in (ENGLISH, *THIRD_LANGUAGES)][:SOURCE_LANGUAGES]
    english = dict(zip(texts[ENGLISH].unit_ids, texts[ENGLISH].paragraphs, strict=True))
    per_language: dict[str, dict[str, float]] = {}
    for code in sources:
        source = dict(zip(texts[code].unit_ids, texts[code].paragraphs, strict=True))
        figures: dict[str, list[float]] = {"third": [], "english_control": []}
        for target_code in (*THIRD_LANGUAGES, ENGLISH):
            target = texts[target_code]
            units = [u for u in target.unit_ids if u in source and u in english]
            row_of = {u: i for i, u in enumerate(target.unit_ids)}
            targets = np.array([row_of[u] for u in units], dtype=np.int64)
            candidates = encoder.encode(target.paragraphs, protocol.candidate_kind)
            for english_first in (False, True):
                queries = [code_switched(source[u], english[u], english_first) for u in units]
                scores = encoder.encode(queries, protocol.query_kind) @ candidates.T
                key = "english_control" if target_code == ENGLISH else "third"
                figures[key].append(accuracy_at_1(scores, targets))
        per_language[code] = {key: float(np.mean(values)) for key, values in figures.items()}
    return {
        "source_languages": sources,
        "third_languages": list(THIRD_LANGUAGES),
        "per_language": per_language,
        "acc1_third_language": float(np.mean([v["third"] for v in per_language.values()])),
        "acc1_english_control": float(
            np.mean([v["english_control"] for v in per_language.values()])
        ),
    }
