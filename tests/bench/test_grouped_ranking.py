"""`python -m bench.grouped_ranking`: its query sets and its scoring, on the demo collection."""

from __future__ import annotations

from pathlib import Path

from app.encoder import OnnxEncoder
from app.metrics import Metrics
from app.service import SearchService
from app.store.edge import QdrantEdgeStore
from bench.grouped_ranking import measure, query_sets
from models.evaluation.split import DEVELOPMENT_LANGUAGES


def test_keyword_queries_are_words_of_their_article_in_a_development_language(
    encoder: OnnxEncoder, demo_store: QdrantEdgeStore, udhr_corpus: Path
) -> None:
    service = SearchService(encoder, demo_store, Metrics())
    sets = query_sets(service, udhr_corpus)
    assert len(sets["questions"]) == 35
    keywords = sets["keywords"]
    assert len(keywords) > 20 * len(DEVELOPMENT_LANGUAGES)  # ~30 articles each
    assert all(1 <= article <= 30 and len(query.split()) == 4 for query, article in keywords)


def test_a_query_scores_when_its_article_is_the_top_group(
    encoder: OnnxEncoder, demo_store: QdrantEdgeStore
) -> None:
    service = SearchService(encoder, demo_store, Metrics())
    question = "Everyone has the right to freedom of thought, conscience and religion"
    queries = [(question, 18), (question, 3)]
    tops = []
    for passages in (1, 3):
        right, seconds = measure(service, queries, "dense", passages)
        assert service.group_rank_passages == passages
        top = service.search("udhr", question, 10, None, group_by="metadata.article", mode="dense")[
            0
        ]
        tops.append(top.metadata["article"])
        assert right == [float(tops[-1] == 18), float(tops[-1] == 3)] and len(seconds) == 2
    # By its best passage the English article wins; by their 3 best, three translations of
    # Article 3 ("the right to life, liberty and security") outscore it in this small collection.
    assert tops == [18, 3]
