"""The service over real HTTP, with the real model and a real embedded Qdrant store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from tests.conftest import DEMO_COLLECTION, DEMO_LANGUAGES, _free_port, serve_in_thread

SWAHILI_ARTICLE_18 = "Kila mtu ana haki ya uhuru wa mawazo, dhamiri na dini"


def _articles(body: dict[str, object]) -> list[int]:
    results = body["results"]
    assert isinstance(results, list)
    return [r["metadata"]["article"] for r in results]


def test_swahili_query_finds_article_18_in_many_languages(client: httpx.Client) -> None:
    response = client.post("/v1/search", json={"query": SWAHILI_ARTICLE_18, "top_k": 20})
    assert response.status_code == 200
    body = response.json()
    assert body["collection"] == "udhr"
    assert body["model"] == "multilingual-e5-small"
    assert body["took_ms"] > 0
    assert _articles(body)[0] == 18
    top = [r for r in body["results"] if r["metadata"]["article"] == 18]
    assert len({r["language"] for r in top}) >= 3
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        "Everyone has the right to freedom of thought, conscience and religion",
        "Toute personne a droit à la liberté de pensée, de conscience et de religion",
        "Всякий человек имеет право на свободу мысли, совести и религии",
        "人人有思想、良心和宗教自由的权利",
    ],
)
def test_queries_in_other_languages_rank_article_18_first(client: httpx.Client, query: str) -> None:
    body = client.post("/v1/search", json={"query": query, "top_k": 5}).json()
    assert _articles(body)[0] == 18


def test_language_filter_returns_only_those_languages(client: httpx.Client) -> None:
    body = client.post(
        "/v1/search",
        json={"query": SWAHILI_ARTICLE_18, "top_k": 10, "languages": ["yor", "hau_NG"]},
    ).json()
    assert {r["language"] for r in body["results"]} <= {"yor", "hau_NG"}
    assert len(body["results"]) == 10


@pytest.mark.parametrize(
    ("asked", "searched"),
    [
        (["en"], ["en", "eng"]),
        (["ENG"], ["ENG", "eng"]),
        (["de", "zh"], ["cmn_hans", "de", "deu_1996", "zh"]),
        (["sw", "ha"], ["ha", "hau_NG", "sw", "swh"]),
        (["zh-Hans"], ["cmn_hans", "zh-Hans"]),
    ],
)
def test_language_filter_matches_languages_not_spellings(
    client: httpx.Client, asked: list[str], searched: list[str]
) -> None:
    """The demo spells German `deu_1996` and Chinese `cmn_hans`: `de` and `zh` find them."""
    body = client.post(
        "/v1/search", json={"query": SWAHILI_ARTICLE_18, "top_k": 100, "languages": asked}
    ).json()
    assert body["languages"] == searched
    found = {r["language"] for r in body["results"]}
    assert found == set(searched) & set(DEMO_LANGUAGES)


def test_a_language_with_a_region_finds_only_that_form(client: httpx.Client) -> None:
    body = client.post(
        "/v1/search", json={"query": SWAHILI_ARTICLE_18, "languages": ["ha-GH", "en-US"]}
    ).json()
    assert (body["languages"], body["results"]) == (["en-US", "ha-GH"], [])


def _ranked(body: dict[str, object]) -> list[tuple[str, int]]:
    results = body["results"]
    assert isinstance(results, list)
    return [(r["id"], r["chunk"]) for r in results]


@pytest.mark.parametrize(
    "extra",
    [
        {"mode": "dense"},
        {"mode": "hybrid"},
        {"mode": "lexical"},
        {"mode": "hybrid", "group_by": "metadata.article"},
        {"mode": "dense", "group_by": "metadata.article"},
    ],
    ids=["dense", "hybrid", "lexical", "hybrid-groups", "dense-groups"],
)
def test_pages_follow_one_another(client: httpx.Client, extra: dict[str, str]) -> None:
    """Three pages of 8 are the best 24, in order, without a repeat or a gap."""
    search = {"query": "Kila mtu ana haki ya elimu", "languages": ["swh", "eng", "fra"], **extra}
    whole = _ranked(client.post("/v1/search", json={**search, "top_k": 24}).json())
    assert len(whole) == 24
    pages = [
        _ranked(client.post("/v1/search", json={**search, "top_k": 8, "offset": o}).json())
        for o in (0, 8, 16)
    ]
    assert [hit for page in pages for hit in page] == whole


def test_a_page_past_the_last_result_is_empty(client: httpx.Client) -> None:
    search = {"query": "elimu", "languages": ["swh"], "mode": "lexical", "top_k": 100}
    found = len(client.post("/v1/search", json=search).json()["results"])
    assert 0 < found < 100
    assert client.post("/v1/search", json={**search, "offset": found}).json()["results"] == []


def test_every_code_the_indexer_accepts_can_filter(client: httpx.Client) -> None:
    """The UDHR's own codes ("ell_monotonic", "009") are valid record codes, so filters too."""
    body = client.post(
        "/v1/search",
        json={"query": SWAHILI_ARTICLE_18, "top_k": 3, "languages": ["ell_monotonic", "009"]},
    ).json()
    assert [r["language"] for r in body["results"]] == ["ell_monotonic"] * 3


def test_languages_endpoint_lists_names_and_counts(client: httpx.Client) -> None:
    body = client.get("/v1/collections/udhr/languages").json()
    by_code = {lang["code"]: lang for lang in body["languages"]}
    assert by_code["swh"]["passages"] >= 30
    assert by_code["swh"]["name"]
    assert set(by_code) == set(DEMO_LANGUAGES)


def test_embed_returns_normalised_vectors_that_match_across_languages(
    client: httpx.Client,
) -> None:
    texts = ["freedom of religion", "uhuru wa dini", "the price of bread"]
    body = client.post("/v1/embed", json={"texts": texts, "kind": "query"}).json()
    vectors = np.array(body["embeddings"])
    assert body["dim"] == 384 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_openai_embeddings_format(client: httpx.Client) -> None:
    body = client.post("/v1/embeddings", json={"input": ["hello", "hola"], "model": "x"}).json()
    assert body["object"] == "list"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert len(body["data"][0]["embedding"]) == 384
    assert body["usage"]["prompt_tokens"] > 0


def test_document_lifecycle(client: httpx.Client) -> None:
    collection = "api-docs"
    long_text = " ".join(
        f"Sentence number {i} talks about rivers and mountains." for i in range(200)
    )
    documents = [
        {"id": "short", "text": "Le chat dort sur le canapé.", "lang": "fra"},
        {"id": "long", "text": long_text, "lang": "eng", "metadata": {"source": "test"}},
    ]
    response = client.post(f"/v1/collections/{collection}/documents", json={"documents": documents})
    assert response.status_code == 200, response.text
    first = response.json()
    assert first["documents"] == 2 and first["chunks"] > 2

    again = client.post(f"/v1/collections/{collection}/documents", json={"documents": documents})
    assert again.json()["unchanged"] == 2 and again.json()["chunks"] == 0

    document = client.get(f"/v1/collections/{collection}/documents/long").json()
    assert len(document["chunks"]) == first["chunks"] - 1
    assert document["metadata"] == {"source": "test"}

    hits = client.post(
        "/v1/search", json={"query": "a cat sleeping", "collection": collection, "top_k": 1}
    ).json()
    assert hits["results"][0]["id"] == "short"

    deleted = client.delete(f"/v1/collections/{collection}/documents/long")
    assert deleted.json()["chunks_deleted"] == first["chunks"] - 1
    assert client.get(f"/v1/collections/{collection}/documents/long").status_code == 404
    names = {c["name"]: c for c in client.get("/v1/collections").json()["collections"]}
    assert names[collection]["points"] == 1


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"query": "   "}, 422, "invalid_request"),
        ({"query": "ok", "top_k": 0}, 422, "invalid_request"),
        ({"query": "ok", "top_k": 10_000}, 422, "invalid_request"),
        ({"query": "ok", "offset": -1}, 422, "invalid_request"),
        ({"query": "ok", "offset": "10"}, 422, "invalid_request"),
        ({"query": "ok", "offset": 1001}, 422, "invalid_request"),
        ({"query": "ok", "unknown": 1}, 422, "invalid_request"),
        ({"query": 12}, 422, "invalid_request"),
        ({"query": "ok", "languages": ["not a code!"]}, 422, "invalid_request"),
        ({"query": "a\u0000b"}, 422, "invalid_request"),
        ({"query": "x" * 5000}, 413, "text_too_long"),
        ({"query": "ok", "collection": "missing"}, 404, "collection_not_found"),
        ({"query": "ok", "collection": "gone", "languages": ["en"]}, 404, "collection_not_found"),
        ({"query": "ok", "filter": {"metadata.article": {"gt": 3}}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {"metadata.article": 2.5}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {"metadata.article": True}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {"text": "a"}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {"doc_id": {"any": []}}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {"doc_id": {"any": ["a", 1]}}}, 422, "invalid_request"),
        ({"query": "ok", "filter": {"doc_id": {"any": ["a"] * 300}}}, 422, "invalid_request"),
        (
            {"query": "ok", "filter": {f"metadata.k{i}": i for i in range(17)}},
            422,
            "invalid_request",
        ),
        (
            {"query": "ok", "languages": ["eng"], "filter": {"language": "fra"}},
            422,
            "invalid_request",
        ),
        ({"query": "ok", "group_by": "text"}, 422, "invalid_request"),
        ({"query": "ok", "group_by": 'metadata.a"b'}, 422, "invalid_request"),
    ],
)
def test_bad_search_input_gets_a_clear_json_error(
    client: httpx.Client, payload: dict[str, object], status: int, code: str
) -> None:
    response = client.post("/v1/search", json=payload)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "ok", "group_by": "metadata.\\ud800"}',
        '{"query": "ok", "filter": {"metadata.a\\udc00": 1}}',
    ],
)
def test_a_lone_surrogate_in_a_metadata_field_name_is_a_422(
    client: httpx.Client, body: str
) -> None:
    """JSON lets a lone surrogate through as an escape; the engine's path cannot take one (it was
    a 500 while metadata keys outside ASCII were being allowed)."""
    headers = {"content-type": "application/json"}
    response = client.post("/v1/search", content=body.encode(), headers=headers)
    assert response.status_code == 422
    assert "lone surrogates" in response.json()["error"]["message"]


def test_invalid_json_and_oversized_bodies(client: httpx.Client) -> None:
    invalid = client.post(
        "/v1/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid_request"
    huge = client.post(
        "/v1/embed",
        content=b'{"texts": ["' + b"a" * (5 * 1024 * 1024) + b'"]}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "body_too_large"


def test_too_many_texts_is_413(client: httpx.Client) -> None:
    response = client.post("/v1/embed", json={"texts": ["a"] * 1000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_texts"


def test_operations_endpoints(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "detail": None}
    assert client.get("/readyz").status_code == 200
    client.post("/v1/search", json={"query": "freedom"})
    metrics = client.get("/metrics").text
    assert (
        'polysearch_http_request_duration_seconds_count{method="POST",route="/v1/search"}'
        in metrics
    )
    assert 'polysearch_encode_duration_seconds_count{kind="query"}' in metrics
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/embed", "/v1/embeddings", "/v1/collections"} <= set(paths)


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"metadata.article": {"gt": 3}}, "unknown operator 'gt'"),
        ({"metadata.article": 2.5}, "must be a string or an integer, not float"),
        ({"text": "a"}, "cannot filter or group on 'text'"),
        ({"doc_id": {"any": ["a"] * 300}}, "at most 256 values"),
        # Beyond Qdrant's 64-bit integers: the engine failed on it (a 500) before.
        ({"metadata.article": 2**63}, "does not fit a 64-bit integer"),
        ({"metadata.article": {"any": [1, -(2**63) - 1]}}, "does not fit a 64-bit integer"),
    ],
)
def test_a_bad_filter_says_what_is_wrong(
    client: httpx.Client, conditions: dict[str, object], message: str
) -> None:
    response = client.post("/v1/search", json={"query": "ok", "filter": conditions})
    assert response.status_code == 422
    assert message in json.dumps(response.json())


def test_metadata_filter_keeps_only_matching_passages(client: httpx.Client) -> None:
    body = client.post(
        "/v1/search",
        json={"query": SWAHILI_ARTICLE_18, "top_k": 30, "filter": {"metadata.article": 20}},
    ).json()
    assert _articles(body) == [20] * len(DEMO_LANGUAGES)  # every translation, and only them
    languages = {r["language"] for r in body["results"]}
    assert languages == set(DEMO_LANGUAGES)


def test_any_of_filter_combines_with_languages(client: httpx.Client) -> None:
    wanted = ["swh/18", "yor/18", "eng/3", "fra/18"]
    body = client.post(
        "/v1/search",
        json={
            "query": SWAHILI_ARTICLE_18,
            "top_k": 10,
            "languages": ["swh", "yor", "eng"],
            "filter": {"doc_id": {"any": wanted}},
        },
    ).json()
    assert sorted(r["id"] for r in body["results"]) == ["eng/3", "swh/18", "yor/18"]
    assert body["results"][0]["id"] == "swh/18"  # the query itself ranks first


def test_group_by_returns_distinct_articles_with_their_translations(
    client: httpx.Client,
) -> None:
    plain = client.post("/v1/search", json={"query": SWAHILI_ARTICLE_18, "top_k": 10}).json()
    assert len(set(_articles(plain))) < 10  # ungrouped, one article fills the list
    body = client.post(
        "/v1/search",
        json={"query": SWAHILI_ARTICLE_18, "top_k": 10, "group_by": "metadata.article"},
    ).json()
    articles = _articles(body)
    assert len(articles) == 10
    assert len(set(articles)) == 10
    assert articles[0] == 18
    assert body["results"][0] == plain["results"][0] | {"group": body["results"][0]["group"]}
    group_scores = [r["group"]["score"] for r in body["results"]]
    assert group_scores == sorted(group_scores, reverse=True)
    for result in body["results"]:
        group = result["group"]
        assert group["score"] <= result["score"]  # a mean of its best passages, this one first
        assert group["key"] == "metadata.article"
        assert group["value"] == result["metadata"]["article"]
        assert result["language"] in group["languages"]
        assert set(group["languages"]) <= set(DEMO_LANGUAGES)
        # One passage per language, or more where a long article was chunked.
        assert group["size"] >= len(group["languages"])
    assert body["results"][0]["group"]["languages"] == sorted(DEMO_LANGUAGES)


@pytest.fixture(scope="session")  # its shutdown closes the shared store: at the end, as for
def mean_groups(  # `live_server_url`
    encoder: OnnxEncoder, demo_store: QdrantEdgeStore
) -> Iterator[httpx.Client]:
    """The service over the demo collection, its groups ranked by their 3 best passages."""
    settings = Settings(default_collection=DEMO_COLLECTION, group_rank_passages=3)
    service = SearchService.from_settings(encoder, demo_store, Metrics(), settings)
    for url in serve_in_thread(create_app(settings, service), _free_port()):
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_groups_rank_by_the_mean_score_of_their_best_passages_where_so_set(
    client: httpx.Client, mean_groups: httpx.Client, mode: str
) -> None:
    query = {"query": "Everyone has the right to marry and to found a family", "mode": mode}
    grouped = query | {"top_k": 10, "group_by": "metadata.article"}
    by_best = client.post("/v1/search", json=grouped).json()["results"]
    by_mean = mean_groups.post("/v1/search", json=grouped).json()["results"]
    assert all(r["group"]["score"] == r["score"] for r in by_best)  # the default: the best
    means = []
    for result in by_mean:
        best = mean_groups.post(
            "/v1/search",
            json=query | {"top_k": 3, "filter": {"metadata.article": result["group"]["value"]}},
        ).json()["results"]
        assert result["id"] == best[0]["id"]  # each group shows its best passage
        means.append(np.mean([b["score"] for b in best]))
    assert [r["group"]["score"] for r in by_mean] == pytest.approx(means)
    assert means == sorted(means, reverse=True)


def test_group_siblings_count_every_language_but_respect_the_filter(
    client: httpx.Client,
) -> None:
    body = client.post(
        "/v1/search",
        json={
            "query": SWAHILI_ARTICLE_18,
            "top_k": 3,
            "group_by": "metadata.article",
            "languages": ["yor"],
            "filter": {"doc_id": {"any": ["yor/18", "swh/18", "eng/18", "yor/19"]}},
        },
    ).json()
    assert [r["id"] for r in body["results"]] == ["yor/18", "yor/19"]  # two groups exist
    first, second = (r["group"] for r in body["results"])
    assert (first["value"], first["size"], first["languages"]) == (18, 3, ["eng", "swh", "yor"])
    assert (second["value"], second["size"], second["languages"]) == (19, 1, ["yor"])
