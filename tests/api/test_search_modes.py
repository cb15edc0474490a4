"""Dense, lexical and hybrid ranking over real HTTP: the real model, real qdrant-edge store."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.encoder import OnnxEncoder
from app.lexical import TermSplitter
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from indexer.udhr import UdhrDeclaration
from models.evaluation.hybrid import keyword_queries
from tests.api.conftest import search
from tests.conftest import _free_port, serve_in_thread
from tests.store.legacy import legacy_edge_collection

KEYWORD_LANGUAGES = ("swh", "yor", "zul", "amh", "khm", "vie")


def _keyword_cases(
    encoder: OnnxEncoder, declarations: dict[str, UdhrDeclaration]
) -> list[tuple[str, str, int]]:
    """(language, four rare words of one of its articles, that article's number)."""
    splitter = TermSplitter(encoder.tokenizer)
    cases = []
    for code in KEYWORD_LANGUAGES:
        articles = [a for a in declarations[code].articles if a.paragraphs]
        for row, query in keyword_queries(splitter, [a.text for a in articles])[::3]:
            cases.append((code, query, articles[row].number))
    return cases


def test_rare_words_find_their_article_where_dense_alone_misses(
    client: httpx.Client, encoder: OnnxEncoder, declarations: dict[str, UdhrDeclaration]
) -> None:
    found: dict[str, int] = {"dense": 0, "lexical": 0, "hybrid": 0}
    cases = _keyword_cases(encoder, declarations)
    for code, query, article in cases:
        for mode in found:
            body = search(client, query=query, top_k=3, languages=[code], mode=mode)
            assert body["mode"] == mode
            top = body["results"][0]
            assert top["language"] == code
            found[mode] += top["metadata"]["article"] == article
    share = {mode: hits / len(cases) for mode, hits in found.items()}
    assert len(cases) >= 40
    assert share["lexical"] >= 0.95 and share["hybrid"] >= 0.95, share
    assert share["dense"] <= share["hybrid"] - 0.2, share  # the words are what dense misses


def test_lexical_results_share_the_query_words_and_come_best_first(
    client: httpx.Client, encoder: OnnxEncoder
) -> None:
    body = search(client, query="Freiheit Religion", top_k=10, mode="lexical")
    assert body["results"], body
    for result in body["results"]:
        words = set(TermSplitter(encoder.tokenizer).terms(result["text"]))
        assert words & {"freiheit", "religion"}, result["text"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    nothing = search(client, query="zzyzxqq", top_k=5, mode="lexical")
    assert nothing["results"] == []


def test_a_query_sharing_no_word_with_any_passage_gets_the_dense_ranking(
    client: httpx.Client,
) -> None:
    # Cyrillic words against passages in Latin and Ge'ez scripts: no term in common.
    query = "Всякий человек имеет право на свободу мысли, совести и религии"
    where = {"languages": ["swh", "yor", "amh", "vie"], "top_k": 10}
    dense = search(client, query=query, mode="dense", **where)
    hybrid = search(client, query=query, mode="hybrid", **where)
    assert search(client, query=query, mode="lexical", **where)["results"] == []
    assert [(r["id"], r["chunk"]) for r in hybrid["results"]] == [
        (r["id"], r["chunk"]) for r in dense["results"]
    ]
    assert [r["score"] for r in hybrid["results"]] == pytest.approx(
        [r["score"] for r in dense["results"]], abs=1e-6
    )
    assert len(dense["results"]) == 10


def test_hybrid_is_the_default_mode_and_unknown_modes_are_refused(client: httpx.Client) -> None:
    body = search(client, query="Everyone has the right to education", top_k=3)
    assert body["mode"] == "hybrid"
    assert body["results"][0]["metadata"]["article"] == 26
    response = client.post("/v1/search", json={"query": "education", "mode": "fuzzy"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_collection_indexed_before_lexical_search_is_searched_dense_or_told_to_reindex(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    legacy_edge_collection(tmp_path, "old", encoder.dim, encoder.card.name)
    store = QdrantEdgeStore(tmp_path)
    try:
        service = SearchService(encoder, store, Metrics())
        app = create_app(Settings(default_collection="old"), service)
        for url in serve_in_thread(app, _free_port()):
            with httpx.Client(base_url=url, timeout=30) as http:
                plain = http.post("/v1/search", json={"query": "education"})
                assert plain.status_code == 200 and plain.json()["mode"] == "dense"
                for mode in ("lexical", "hybrid"):
                    refused = http.post("/v1/search", json={"query": "education", "mode": mode})
                    assert refused.status_code == 409
                    error = refused.json()["error"]
                    assert error["code"] == "no_lexical_index"
                    assert "index its documents again" in error["message"]
    finally:
        store.close()


def test_lexical_and_hybrid_keep_filters_and_groups(client: httpx.Client) -> None:
    words = "mkutano asilazimishwe"  # two words of the Swahili Article 20
    only_20 = search(client, query=words, mode="lexical", top_k=10, filter={"metadata.article": 20})
    assert only_20["results"]
    assert {r["metadata"]["article"] for r in only_20["results"]} == {20}
    elsewhere = search(
        client, query=words, mode="lexical", top_k=10, filter={"metadata.article": 19}
    )
    assert elsewhere["results"] == []  # no Article 19 holds these words
    for mode in ("hybrid", "lexical"):
        grouped = search(client, query=words, mode=mode, top_k=5, group_by="metadata.article")
        articles = [r["metadata"]["article"] for r in grouped["results"]]
        assert articles[0] == 20
        assert len(set(articles)) == len(articles)
        assert all(r["group"]["value"] == r["metadata"]["article"] for r in grouped["results"])


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_groups_fill_top_k_beyond_the_first_candidates(client: httpx.Client, mode: str) -> None:
    """All 30 articles: more groups than one round of candidates holds (20 languages
    rank each article's passages together), so the search goes on past them, excluding the
    groups found, until it has them all."""
    grouped = search(
        client, query="freedom of opinion", mode=mode, top_k=30, group_by="metadata.article"
    )
    articles = [r["metadata"]["article"] for r in grouped["results"]]
    assert len(articles) == len(set(articles)) == 30
