"""Bad input gets a clear 4xx JSON error; real text in any script works.

Complements tests/api/test_search_api.py (empty query, top_k range, unknown fields, NUL, long
query, too many texts, invalid JSON, oversized body by Content-Length), over the same live
server: real model, real store, real HTTP.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

# Article 18 (freedom of thought, conscience and religion) in languages *not* in the demo
# collection, so the match is cross-lingual: Persian and Urdu (RTL, Arabic script with ZWNJ
# and combining hamza), and Vietnamese (Latin with stacked diacritics).
PERSIAN_18 = "هر کس حق دارد که از آزادی فکر، وجدان و مذهب بهره‌مند شود."
URDU_18 = "ہر انسان کو آزادیٔ فکر، آزادیٔ ضمیر اور آزادیٔ مذہب کا پورا حق ہے\u06d4"
VIETNAMESE_18 = "Mọi người đều có quyền tự do suy nghĩ, ý thức và tôn giáo"
MIXED_18 = "Everyone has 思想の自由, uhuru wa dhamiri na свобода религии"


@pytest.fixture(scope="module")
def client(live_server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server_url, timeout=30) as http:
        yield http


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    message: str = error["message"]
    return message


def _top_articles(client: httpx.Client, query: str, k: int = 3) -> list[int]:
    response = client.post("/v1/search", json={"query": query, "top_k": k})
    assert response.status_code == 200, response.text
    return [r["metadata"]["article"] for r in response.json()["results"]]


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"query": "a\u0007b"}',  # BEL
        rb'{"query": "\u001b[31mred"}',  # ESC: terminal escape
        rb'{"query": "del\u007f"}',
        rb'{"query": "lone \ud800 surrogate"}',
        rb'{"query": "reversed \udc00\ud800"}',
    ],
)
def test_control_characters_and_lone_surrogates_are_422(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/v1/search", content=raw, headers={"content-type": "application/json"})
    _error(response, 422, "invalid_request")


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/embed", rb'{"texts": ["ok", "\ud800"]}'),
        ("/v1/embed", rb'{"texts": ["bell\u0007"]}'),
        ("/v1/embeddings", rb'{"input": ["\udfff"]}'),
        ("/v1/collections/limits/documents", rb'{"documents": [{"id": "x", "text": "a\ud800"}]}'),
        ("/v1/collections/limits/documents", rb'{"documents": [{"id": "\ud800", "text": "a"}]}'),
        (
            "/v1/collections/limits/documents",
            rb'{"documents": [{"id": "x", "text": "a", "metadata": {"k": "\udfff"}}]}',
        ),
        ("/v1/collections/limits/documents", rb'{"documents": [{"id": "x", "text": "\u0001"}]}'),
    ],
)
def test_every_text_field_refuses_unusable_characters(
    client: httpx.Client, path: str, raw: bytes
) -> None:
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    _error(response, 422, "invalid_request")


def test_tabs_newlines_and_c1_mojibake_are_fine(client: httpx.Client) -> None:
    response = client.post("/v1/search", json={"query": "freedom\tof\nthought\r\nit\x92s"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        b'{"query": "\xff\xfe"}',  # not UTF-8 at all
        b'{"query": "caf\xe9"}',  # Latin-1
        b'{"query": "\xed\xa0\x80"}',  # an encoded surrogate
        b"\xef\xbb\xbf\x00{",  # BOM and NUL
    ],
)
def test_invalid_utf8_is_422(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/v1/search", content=raw, headers={"content-type": "application/json"})
    _error(response, 422, "invalid_request")


@pytest.mark.parametrize(
    ("raw", "position"),
    [(b"notjson", 0), (b'{"query": "ok",}', 15), (b'{"query": "ok"', 14)],
)
def test_malformed_json_is_422_naming_the_body_and_where(
    client: httpx.Client, raw: bytes, position: int
) -> None:
    response = client.post("/v1/search", content=raw, headers={"content-type": "application/json"})
    message = _error(response, 422, "invalid_request")
    assert message.startswith("body: not valid JSON: ")
    assert message.endswith(f" at character {position}")
    assert response.json()["error"]["details"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/search", "application/x-www-form-urlencoded"),  # curl -d without -H
        ("/v1/search", "text/plain; charset=utf-8"),
        ("/v1/embed", "multipart/form-data; boundary=x"),
        ("/v1/collections/limits/documents", "text/json"),
    ],
)
def test_a_json_body_sent_as_another_media_type_is_415_saying_so(
    client: httpx.Client, path: str, content_type: str
) -> None:
    body = b'{"query": "ok", "texts": ["ok"], "documents": [{"id": "x", "text": "ok"}]}'
    response = client.post(path, content=body, headers={"content-type": content_type})
    message = _error(response, 415, "unsupported_media_type")
    assert "content-type: application/json" in message
    assert content_type in message


def test_json_media_types_with_parameters_or_a_suffix_are_json(client: httpx.Client) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = client.post(
            "/v1/search", content=b'{"query": "ok"}', headers={"content-type": content_type}
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"query": "ok", "top_k": True}),
        ("/v1/search", {"query": "ok", "top_k": "5"}),
        ("/v1/search", {"query": "ok", "top_k": 2.5}),
        ("/v1/search", {"query": ["ok"]}),
        ("/v1/search", {"query": "ok", "languages": "eng"}),
        ("/v1/search", {"query": "ok", "languages": []}),
        ("/v1/search", {"query": "ok", "collection": "../etc"}),
        ("/v1/search", []),
        ("/v1/search", None),
        ("/v1/embed", {"texts": "not a list"}),
        ("/v1/embed", {"texts": []}),
        ("/v1/embed", {"texts": ["ok"], "kind": "document"}),
        ("/v1/embed", {"texts": ["ok"], "extra": True}),
        ("/v1/embeddings", {"input": []}),
        ("/v1/embeddings", {"input": "ok", "encoding_format": "binary"}),
        ("/v1/embeddings", {"input": "ok", "dimensions": 0}),
        ("/v1/embeddings", {"input": "ok", "dimensions": 128}),
        ("/v1/embed", {"texts": ["ok"], "truncate": "yes"}),
        ("/v1/collections/limits/documents", {"documents": []}),
        ("/v1/collections/limits/documents", {"documents": [{"id": "x"}]}),
        ("/v1/collections/limits/documents", {"documents": [{"id": "x", "text": "a", "x": 1}]}),
        ("/v1/collections/limits/documents", {"documents": [{"id": True, "text": "a"}]}),
        (
            "/v1/collections/limits/documents",
            {"documents": [{"id": "x", "text": "a", "language": "!"}]},
        ),
    ],
)
def test_wrong_types_and_unknown_fields_are_422(
    client: httpx.Client, path: str, body: object
) -> None:
    _error(client.post(path, json=body), 422, "invalid_request")


def test_language_codes(client: httpx.Client) -> None:
    """Malformed code: 422. Well-formed but absent from the collection: 200, no results."""
    _error(
        client.post("/v1/search", json={"query": "ok", "languages": ["e"]}), 422, "invalid_request"
    )
    absent = client.post("/v1/search", json={"query": "freedom", "languages": ["zzz"]})
    assert absent.status_code == 200
    assert absent.json()["results"] == []


def test_the_language_filter_is_bounded(client: httpx.Client) -> None:
    codes = [f"x{i:04d}" for i in range(1_001)]
    response = client.post("/v1/search", json={"query": "ok", "languages": codes})
    _error(response, 422, "invalid_request")
    assert "at most 1000" in response.json()["error"]["message"]
    fine = client.post("/v1/search", json={"query": "ok", "languages": codes[:1_000]})
    assert fine.status_code == 200


def test_long_text_to_embed_is_413(client: httpx.Client) -> None:
    _error(client.post("/v1/embed", json={"texts": ["x" * 25_000]}), 413, "text_too_long")


def test_chunked_oversized_body_is_413_before_it_is_read_whole(client: httpx.Client) -> None:
    sent = 0

    def body() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        nonlocal sent
        yield b'{"texts": ["'
        for _ in range(64):  # up to 16 MiB offered, limit is 4 MiB
            sent += 256 * 1024
            yield b"a" * (256 * 1024)
        yield b'"]}'

    try:
        response = client.post(
            "/v1/embed", content=body(), headers={"content-type": "application/json"}
        )
    except httpx.TransportError:  # the server may close before the client finished sending
        return
    _error(response, 413, "body_too_large")
    assert "content-length" not in response.request.headers


def test_chunked_small_body_is_accepted(client: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"texts": '
        yield b'["chunked upload"]}'

    response = client.post(
        "/v1/embed", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert len(response.json()["embeddings"]) == 1


@pytest.mark.parametrize("query", [PERSIAN_18, URDU_18, VIETNAMESE_18, MIXED_18])
def test_rtl_diacritics_and_mixed_scripts_find_article_18(client: httpx.Client, query: str) -> None:
    # Article 3 (life, liberty) shares the word for freedom and may rank first; 18 is near.
    assert 18 in _top_articles(client, query, k=10)


def test_combining_marks_decomposed_or_composed_mean_the_same(client: httpx.Client) -> None:
    composed = unicodedata.normalize("NFC", VIETNAMESE_18)
    decomposed = unicodedata.normalize("NFD", VIETNAMESE_18)
    assert composed != decomposed
    vectors = client.post("/v1/embed", json={"texts": [composed, decomposed]}).json()["embeddings"]
    assert float(np.dot(vectors[0], vectors[1])) > 0.95
    assert 18 in _top_articles(client, decomposed)


def test_emoji_and_joiners_are_valid_input(client: httpx.Client) -> None:
    query = "👩‍👩‍👧 family 🏠 protection by society and the State 🇺🇳"
    response = client.post("/v1/search", json={"query": query, "top_k": 5})
    assert response.status_code == 200
    assert response.json()["query"] == query  # echoed intact, ZWJ sequences and flags included
    assert 16 in [r["metadata"]["article"] for r in response.json()["results"]]
