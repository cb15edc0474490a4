"""Dense, lexical and hybrid ranking side by side, with the service's own terms and fusion.

Tasks (acc@1, macro over languages, split into languages seen and unseen in pre-training):
- keyword: the `KEYWORD_WORDS` rarest terms of a UDHR paragraph, in its language, retrieve that
  paragraph among the language's paragraphs (what dense retrieval misses: rare words, names);
- questions: the English questions retrieve their article among language X's articles, and
  among the articles of all evaluated languages and English (`questions-pool`);
- udhr-bitext: an English paragraph retrieves its translation among X's paragraphs;
- code-switched: half X, half English retrieves the paragraph in a third language.
The cross-lingual tasks are where a fusion can only lose: the query's words rarely occur in
the passage. Every task ranks like `/v1/search` does: BM25 over the searched passages (IDF
from them), the hybrid over the top dense and top lexical candidates (app/store/fusion.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from app.lexical.bm25 import document_vector, idf, term_index
from app.lexical.terms import TermSplitter
from app.store.fusion import HybridConfig, hybrid_scores, lexical_baseline
from indexer.udhr import UdhrDeclaration
from models.evaluation.codeswitch import THIRD_LANGUAGES, code_switched
from models.evaluation.encoders import EvalEncoder
from models.evaluation.metrics import accuracy_at_1
from models.evaluation.questions import Question
from models.evaluation.udhr_data import ENGLISH, AlignedText, article_texts

MODES = ("dense", "lexical", "hybrid")
KEYWORD_WORDS = 4
TOP_K = 10
CODESWITCH_SOURCES = 5
Matrix = npt.NDArray[np.float64]


class LexicalIndex:
    """BM25 over a list of passages, as the store computes it (same vectors, same IDF)."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        vectors = [document_vector(terms) for terms in documents]
        self._column: dict[int, int] = {}
        rows, columns, values = [], [], []
        for row, vector in enumerate(vectors):
            for index, value in zip(vector.indices, vector.values, strict=True):
                rows.append(row)
                columns.append(self._column.setdefault(index, len(self._column)))
                values.append(value)
        shape = (len(documents), max(len(self._column), 1))
        matrix = sparse.csr_matrix((values, (rows, columns)), shape=shape, dtype=np.float64)
        frequency = np.asarray((matrix > 0).sum(axis=0)).ravel()
        weights = np.array([idf(len(documents), int(n)) for n in frequency])
        self._matrix = matrix.multiply(weights[None, :]).tocsr()

    def scores(self, queries: Sequence[Sequence[str]]) -> Matrix:
        rows, columns = [], []
        for row, terms in enumerate(queries):
            for index in {term_index(t) for t in terms}:
                if index in self._column:
                    rows.append(row)
                    columns.append(self._column[index])
        shape = (len(queries), self._matrix.shape[1])
        query = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
        return np.asarray((query @ self._matrix.T).todense(), dtype=np.float64)


def ranked(
    dense: Matrix, lexical: Matrix, query_terms: Sequence[int], config: HybridConfig
) -> dict[str, Matrix]:
    """Each mode's scores; candidates a mode does not return score -inf (a miss)."""
    hybrid = np.full(dense.shape, -np.inf)
    for row, terms in enumerate(query_terms):
        candidates = np.zeros(dense.shape[1], dtype=bool)
        candidates[np.argsort(-dense[row], kind="stable")[: config.dense_candidates]] = True
        matched = np.flatnonzero(lexical[row] > 0)
        best = matched[np.argsort(-lexical[row, matched], kind="stable")]
        candidates[best[: config.lexical_candidates]] = True
        baseline = lexical_baseline(
            lexical[row, best[: config.lexical_candidates]], config.baseline_rank
        )
        hybrid[row, candidates] = hybrid_scores(
            dense[row, candidates], lexical[row, candidates], terms, config.weight, baseline
        )
    return {
        "dense": dense,
        "lexical": np.where(lexical > 0, lexical, -np.inf),
        "hybrid": hybrid,
    }


class _Scorer:
    def __init__(self, encoder: EvalEncoder, splitter: TermSplitter, config: HybridConfig) -> None:
        self.encoder = encoder
        self.splitter = splitter
        self.config = config

    def accuracy(
        self, queries: Sequence[str], passages: Sequence[str], targets: Sequence[int]
    ) -> dict[str, float]:
        """acc@1 per mode: each query's target among the passages."""
        dense = (
            self.encoder.encode(queries, "query") @ self.encoder.encode(passages, "passage").T
        ).astype(np.float64)
        query_terms = [self.splitter.terms(q) for q in queries]
        index = LexicalIndex([self.splitter.terms(p) for p in passages])
        lexical = index.scores(query_terms)
        wanted = np.asarray(targets, dtype=np.int64)
        by_mode = ranked(dense, lexical, [len(set(t)) for t in query_terms], self.config)
        return {mode: accuracy_at_1(scores, wanted) for mode, scores in by_mode.items()}  # type: ignore[arg-type]


def keyword_queries(splitter: TermSplitter, paragraphs: Sequence[str]) -> list[tuple[int, str]]:
    """(paragraph row, query): the paragraph's `KEYWORD_WORDS` terms found in the fewest of the
    language's paragraphs (longer first among equals), in the order they occur."""
    terms = [splitter.terms(p) for p in paragraphs]
    frequency = Counter(t for found in terms for t in set(found))
    queries = []
    for row, found in enumerate(terms):
        distinct = list(dict.fromkeys(found))
        if len(distinct) < KEYWORD_WORDS:
            continue
        rarest = sorted(distinct, key=lambda t: (frequency[t], -len(t), distinct.index(t)))
        chosen = set(rarest[:KEYWORD_WORDS])
        queries.append((row, " ".join(t for t in distinct if t in chosen)))
    return queries


def _groups(
    per_language: dict[str, dict[str, float]], texts: dict[str, AlignedText]
) -> dict[str, Any]:
    """Macro acc@1 per mode over all, seen and unseen languages, and the per-language rows."""
    out: dict[str, Any] = {}
    for mode in MODES:
        out[mode] = {}
        for group, wanted in (("all", None), ("seen", True), ("unseen", False)):
            values = [
                v[mode]
                for code, v in per_language.items()
                if wanted is None or texts[code].seen_in_pretraining == wanted
            ]
            out[mode][group] = round(float(np.mean(values)), 4) if values else None
    out["per_language"] = per_language
    return out


def hybrid_scores_report(
    encoder: EvalEncoder,
    splitter: TermSplitter,
    config: HybridConfig,
    texts: dict[str, AlignedText],
    declarations: dict[str, UdhrDeclaration],
    questions: Sequence[Question],
    codes: Sequence[str],
) -> dict[str, Any]:
    scorer = _Scorer(encoder, splitter, config)
    english = texts[ENGLISH]
    keyword, asked, bitext = {}, {}, {}
    wanted = [q.article for q in questions]
    for code in codes:
        paragraphs = texts[code].paragraphs
        pairs = keyword_queries(splitter, paragraphs)
        keyword[code] = scorer.accuracy([q for _, q in pairs], paragraphs, [r for r, _ in pairs])
        numbers, articles = article_texts(declarations[code])
        answerable = [
            (q.question, numbers.index(q.article)) for q in questions if q.article in numbers
        ]
        asked[code] = scorer.accuracy(
            [q for q, _ in answerable], articles, [t for _, t in answerable]
        )
        row_of = {u: i for i, u in enumerate(texts[code].unit_ids)}
        shared = [(i, row_of[u]) for i, u in enumerate(english.unit_ids) if u in row_of]
        bitext[code] = scorer.accuracy(
            [english.paragraphs[i] for i, _ in shared], paragraphs, [r for _, r in shared]
        )
    pooled_numbers: list[int] = []
    pooled_articles: list[str] = []
    for code in [ENGLISH, *codes]:
        numbers, articles = article_texts(declarations[code])
        pooled_numbers += numbers
        pooled_articles += articles
    english_articles = len(article_texts(declarations[ENGLISH])[0])
    pool = _pool_accuracy(
        scorer, questions, wanted, pooled_numbers, pooled_articles, english_articles
    )
    return {
        "settings": {
            "terms": splitter.scheme,
            "lexical_weight": config.weight,
            "dense_candidates": config.dense_candidates,
            "lexical_candidates": config.lexical_candidates,
            "lexical_baseline_rank": config.baseline_rank,
            "keyword_words": KEYWORD_WORDS,
        },
        "languages": list(codes),
        "tasks": {
            "keyword": _groups(keyword, texts),
            "questions": _groups(asked, texts),
            "questions-pool": pool,
            "udhr-bitext": _groups(bitext, texts),
            "code-switched": _codeswitch(scorer, texts, codes),
        },
    }


def _pool_accuracy(
    scorer: _Scorer,
    questions: Sequence[Question],
    wanted: Sequence[int],
    numbers: Sequence[int],
    articles: Sequence[str],
    english_articles: int,
) -> dict[str, dict[str, float]]:
    """Questions among every language's articles (English's first): any translation of the
    answer counts; the share of English articles in the top 10 shows the pull of the query's
    language, which shared words can only strengthen."""
    queries = [q.question for q in questions]
    dense = (
        scorer.encoder.encode(queries, "query") @ scorer.encoder.encode(articles, "passage").T
    ).astype(np.float64)
    query_terms = [scorer.splitter.terms(q) for q in queries]
    lexical = LexicalIndex([scorer.splitter.terms(a) for a in articles]).scores(query_terms)
    by_mode = ranked(dense, lexical, [len(set(t)) for t in query_terms], scorer.config)
    answers = np.asarray(numbers)[None, :] == np.asarray(wanted)[:, None]
    out: dict[str, dict[str, float]] = {}
    for mode, scores in by_mode.items():
        best = np.argmax(scores, axis=1)
        found = answers[np.arange(len(queries)), best] & np.isfinite(scores.max(axis=1))
        top = np.argsort(-scores, axis=1, kind="stable")[:, :TOP_K]
        out[mode] = {
            "acc1": round(float(found.mean()), 4),
            "english_share_top10": round(float((top < english_articles).mean()), 4),
        }
    return out


def _codeswitch(
    scorer: _Scorer, texts: dict[str, AlignedText], codes: Sequence[str]
) -> dict[str, Any]:
    per_language = {}
    sources = [c for c in codes if c not in (ENGLISH, *THIRD_LANGUAGES)][:CODESWITCH_SOURCES]
    english = texts[ENGLISH]
    for third in THIRD_LANGUAGES:
        if third not in texts:
            continue
        target = texts[third]
        for code in sources:
            source = texts[code]
            units = [u for u in source.unit_ids if u in english.unit_ids and u in target.unit_ids]
            queries, targets = [], []
            for unit in units:
                xx = source.paragraphs[source.unit_ids.index(unit)]
                en = english.paragraphs[english.unit_ids.index(unit)]
                for english_first in (False, True):
                    queries.append(code_switched(xx, en, english_first))
                    targets.append(target.unit_ids.index(unit))
            per_language[code] = scorer.accuracy(queries, target.paragraphs, targets)
    return _groups(per_language, texts)
