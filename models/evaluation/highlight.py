"""Highlight accuracy: is the sentence a search highlights in the paragraph the query asks for?

A passage is made of `PARAGRAPHS_PER_PASSAGE` consecutive UDHR article paragraphs of language X
(held-out data), joined by a space (no line break to help the sentence splitter), kept inside
the model's window; each of its paragraphs, in English, is a query. A query scores when the top
highlighted span lies inside its paragraph. The service's own code runs every step: sentence
splitting, sentence vectors, the int8 payload round trip and the scoring (app/highlights).

Methods: `late` is what the service stores by default: each sentence pooled from the
passage's own encoder call (no extra encoder work), through the model's highlight projection
where it has one (app/highlights/projection.py); `pooled` is the same without the projection;
`separate` encodes each sentence alone (about twice the encoder work at indexing); `+terms`
adds the query's words as the lexical and hybrid modes do; `chance` is the expected accuracy
of a sentence picked at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.encoder import OnnxEncoder
from app.highlights.indexing import project_sentences
from app.highlights.payload import decode_sentences, encode_sentences
from app.highlights.scoring import highlights
from app.highlights.sentences import Span, split_sentences
from app.lexical.terms import TermSplitter
from models.evaluation.encoders import EvalEncoder
from models.evaluation.split import DEVELOPMENT, TEST, split_of
from models.evaluation.udhr_data import ENGLISH, AlignedText

PARAGRAPHS_PER_PASSAGE = 4
METHODS = ("late", "late+terms", "pooled", "separate", "separate+terms", "chance")
GROUPS = ("all", "seen", "unseen")


@dataclass(frozen=True)
class Passage:
    text: str
    paragraphs: list[Span]  # each paragraph's offsets in `text`
    queries: list[str]  # the English paragraphs, in the same order


def _joined(paragraphs: Sequence[str]) -> tuple[str, list[Span]]:
    text, bounds = "", []
    for paragraph in paragraphs:
        if text:
            text += " "
        bounds.append((len(text), len(text) + len(paragraph)))
        text += paragraph
    return text, bounds


def passages(target: AlignedText, english: AlignedText, encoder: OnnxEncoder) -> list[Passage]:
    """Consecutive article paragraphs of `target` aligned with English, several per passage;
    a group longer than the window loses its last paragraphs (at least two stay)."""
    units = [u for u in target.unit_ids if u.startswith("a") and u in english.unit_ids]
    limit = encoder.card.max_seq_length
    out = []
    for first in range(0, len(units), PARAGRAPHS_PER_PASSAGE):
        group = units[first : first + PARAGRAPHS_PER_PASSAGE]
        while len(group) >= 2:
            text, bounds = _joined([target.paragraphs[target.unit_ids.index(u)] for u in group])
            if encoder.count_tokens(text, "passage") <= limit:
                queries = [english.paragraphs[english.unit_ids.index(u)] for u in group]
                out.append(Passage(text, bounds, queries))
                break
            group = group[:-1]
    return out


def _inside(span: Span, paragraph: Span) -> bool:
    return paragraph[0] <= span[0] and span[1] <= paragraph[1]


def _language_scores(
    passages_of: Sequence[Passage],
    onnx: OnnxEncoder,
    cached: EvalEncoder,
    splitter: TermSplitter,
) -> dict[str, float]:
    hits: dict[str, list[float]] = {m: [] for m in METHODS}
    for passage in passages_of:
        spans = split_sentences(passage.text)
        vectors, pooled = onnx.encode_spans([passage.text], "passage", [spans])
        late = project_sentences(onnx, vectors, pooled)  # what `encode_passages` stores
        separate = cached.encode([passage.text[a:b] for a, b in spans], "passage")
        stored = {
            "late": decode_sentences(encode_sentences(spans, late[0]), len(passage.text)),
            "pooled": decode_sentences(encode_sentences(spans, pooled[0]), len(passage.text)),
            "separate": decode_sentences(encode_sentences(spans, separate), len(passage.text)),
        }
        queries = cached.encode(passage.queries, "query")
        for query, vector, paragraph in zip(
            passage.queries, queries, passage.paragraphs, strict=True
        ):
            terms = set(splitter.terms(query))
            for method in METHODS[:-1]:
                found = highlights(
                    passage.text,
                    stored[method.split("+")[0]],
                    vector,
                    terms if method.endswith("+terms") else None,
                    splitter.terms,
                )
                hits[method].append(
                    float(bool(found) and _inside((found[0].start, found[0].end), paragraph))
                )
            hits["chance"].append(float(np.mean([_inside(s, paragraph) for s in spans])))
    return {m: round(float(np.mean(v)), 4) if v else 0.0 for m, v in hits.items()}


def highlight_report(
    cached: EvalEncoder,
    onnx: OnnxEncoder,
    splitter: TermSplitter,
    texts: dict[str, AlignedText],
    codes: Sequence[str],
) -> dict[str, Any]:
    english = texts[ENGLISH]
    per_language: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for code in codes:
        found = passages(texts[code], english, onnx)
        counts[code] = sum(len(p.queries) for p in found)
        if found:
            per_language[code] = _language_scores(found, onnx, cached, splitter)
    summary: dict[str, Any] = {}
    for method in METHODS:
        summary[method] = {}
        for split in (DEVELOPMENT, TEST):
            summary[method][split] = {}
            for group in GROUPS:
                values = [
                    scores[method]
                    for code, scores in per_language.items()
                    if split_of(code) == split
                    and (group == "all" or texts[code].seen_in_pretraining == (group == "seen"))
                ]
                summary[method][split][group] = round(float(np.mean(values)), 4) if values else None
    return {
        "paragraphs_per_passage": PARAGRAPHS_PER_PASSAGE,
        "methods": list(METHODS),
        "summary": summary,
        "queries": counts,
        "per_language": per_language,
    }
