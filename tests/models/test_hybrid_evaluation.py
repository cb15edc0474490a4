"""The hybrid evaluation ranks as the service does: its in-memory BM25 scores like qdrant-edge,
its keyword queries are the rare words, and its goals can fail."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from app.encoder import OnnxEncoder
from app.lexical import TermSplitter, document_vector, query_vector
from app.store.base import Point
from app.store.edge import QdrantEdgeStore
from app.store.fusion import HybridConfig
from indexer.udhr import UdhrDeclaration
from models.evaluation.hybrid import LexicalIndex, keyword_queries, ranked
from models.evaluation.hybrid_report import goals


@pytest.fixture(scope="module")
def splitter(encoder: OnnxEncoder) -> TermSplitter:
    return TermSplitter(encoder.tokenizer)


@pytest.fixture(scope="module")
def paragraphs(declarations: dict[str, UdhrDeclaration]) -> list[str]:
    swahili = [p for a in declarations["swh"].articles for p in a.paragraphs]
    thai = [p for a in declarations["tha"].articles for p in a.paragraphs]
    return swahili[:40] + thai[:40]


def test_in_memory_bm25_scores_like_the_store(
    splitter: TermSplitter, paragraphs: list[str], tmp_path: Path
) -> None:
    terms = [splitter.terms(p) for p in paragraphs]
    queries = [terms[3][:4], terms[50][2:6], ["haki", "ya", "kila"], ["nothing-shared"]]
    expected = LexicalIndex(terms).scores(queries)
    store = QdrantEdgeStore(tmp_path / "qdrant")
    try:
        store.create_collection("p", 4)
        store.upsert(
            "p",
            [
                Point(str(uuid.UUID(int=i + 1)), np.ones(4, np.float32), {}, document_vector(t))
                for i, t in enumerate(terms)
            ],
        )
        for row, query in enumerate(queries):
            hits = store.search_lexical("p", query_vector(query), limit=len(paragraphs))
            got = np.zeros(len(paragraphs))
            for hit in hits:
                got[uuid.UUID(hit.id).int - 1] = hit.score
            np.testing.assert_allclose(got, expected[row], rtol=1e-4, atol=1e-6)
    finally:
        store.close()
    assert expected[0].max() > 0 and expected[1].max() > 0 and expected[3].max() == 0


def test_keyword_queries_take_the_rarest_words_of_their_paragraph(
    splitter: TermSplitter, paragraphs: list[str]
) -> None:
    swahili = paragraphs[:40]
    terms = [set(splitter.terms(p)) for p in swahili]
    frequency = {t: sum(t in found for found in terms) for found in terms for t in found}
    queries = keyword_queries(splitter, swahili)
    assert len(queries) >= 35
    for row, query in queries:
        words = query.split()
        assert len(set(words)) == 4 and set(words) <= terms[row]
        rest = terms[row] - set(words)
        assert max(frequency[w] for w in words) <= min(frequency[w] for w in rest)


def test_without_shared_terms_the_hybrid_is_the_dense_ranking() -> None:
    rng = np.random.default_rng(0)
    dense = rng.uniform(0.5, 0.9, size=(5, 30))
    lexical = np.zeros((5, 30))
    lexical[0, 7] = 5.0  # one query shares a rare word with one passage
    config = HybridConfig(weight=0.1, dense_candidates=30, lexical_candidates=30)
    modes = ranked(dense, lexical, [4] * 5, config)
    np.testing.assert_array_equal(modes["hybrid"][1:], dense[1:])
    assert modes["hybrid"][0, 7] == pytest.approx(dense[0, 7] + 0.1 * 5.0 / 4)
    assert np.isneginf(modes["lexical"][1:]).all()


def _report(keyword: float, questions: tuple[float, float]) -> dict[str, object]:
    def modes(dense: float, hybrid: float) -> dict[str, dict[str, float]]:
        flat = {"all": dense, "seen": dense, "unseen": dense}
        return {"dense": flat, "lexical": flat, "hybrid": dict.fromkeys(flat, hybrid)}

    return {
        "tasks": {
            "keyword": modes(0.4, keyword),
            "questions": modes(*questions),
            "udhr-bitext": modes(0.6, 0.6),
            "code-switched": modes(0.9, 0.9),
            "questions-pool": {
                mode: {"acc1": 0.8, "english_share_top10": 0.4}
                for mode in ("dense", "lexical", "hybrid")
            },
        }
    }


def test_goals_fail_below_the_keyword_target_or_half_a_point_under_dense() -> None:
    assert all(met for _, met in goals(_report(0.97, (0.500, 0.496))))
    missed = [goal for goal, met in goals(_report(0.94, (0.500, 0.494))) if not met]
    assert missed == [
        "keyword, seen: hybrid acc@1 ≥ 95.0",
        "keyword, unseen: hybrid acc@1 ≥ 95.0",
        "questions: hybrid within 0.5 points of dense or better",
    ]
