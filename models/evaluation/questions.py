"""Questions -> passages: English questions written for the benchmark (`data/questions.json`),
each answered by one UDHR article. Bitext retrieval is not search; this is what users do.

Per language, a question retrieves among that language's articles (acc@1, MRR@10); in the
pool, among the articles of all the pool's languages, where any translation of the answering
article counts, and the share of English articles in the top 10 shows the pull of the
query's language."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.udhr import UdhrDeclaration
from models.evaluation.encoders import EvalEncoder
from models.evaluation.metrics import accuracy_at_1, mrr_at_k
from models.evaluation.protocols import Protocol
from models.evaluation.udhr_data import ENGLISH, article_texts

QUESTIONS_FILE = Path(__file__).parent / "data" / "questions.json"
TOP_K = 10


@dataclass(frozen=True)
class Question:
    question: str
    article: int


def load_questions(path: Path = QUESTIONS_FILE) -> list[Question]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Question(q["question"], int(q["article"])) for q in data["questions"]]


def question_scores(
    encoder: EvalEncoder,
    declarations: dict[str, UdhrDeclaration],
    languages: Sequence[str],
    questions: Sequence[Question],
    protocol: Protocol,
) -> dict[str, Any]:
    query = encoder.encode([q.question for q in questions], protocol.query_kind)
    wanted = np.array([q.article for q in questions])
    per_language: dict[str, dict[str, float]] = {}
    pooled_vectors, pooled_numbers, pooled_languages = [], [], []
    for code in languages:
        numbers, texts = article_texts(declarations[code])
        vectors = encoder.encode(texts, protocol.candidate_kind)
        answerable = np.isin(wanted, numbers)
        row_of = {n: i for i, n in enumerate(numbers)}
        targets = np.array([row_of[n] for n in wanted[answerable]], dtype=np.int64)
        scores = query[answerable] @ vectors.T
        per_language[code] = {
            "acc1": accuracy_at_1(scores, targets),
            "mrr10": mrr_at_k(scores, targets, TOP_K),
        }
        pooled_vectors.append(vectors)
        pooled_numbers += numbers
        pooled_languages += [code] * len(numbers)
    scores = query @ np.vstack(pooled_vectors).T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :TOP_K]
    hits = np.array(pooled_numbers)[order] == wanted[:, None]
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    return {
        "languages": list(languages),
        "questions": len(questions),
        "per_language": per_language,
        "macro_acc1": float(np.mean([v["acc1"] for v in per_language.values()])),
        "macro_mrr10": float(np.mean([v["mrr10"] for v in per_language.values()])),
        "pool_acc1": float(hits[:, 0].mean()),
        "pool_mrr10": float(np.where(first_hit > 0, 1.0 / np.maximum(first_hit, 1), 0.0).mean()),
        "pool_english_share_top10": float((np.array(pooled_languages)[order] == ENGLISH).mean()),
    }
