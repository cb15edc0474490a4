"""The documents API over real HTTP (real model, real embedded store): names, ids, conflicts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import numpy as np
import pytest

from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.base import Point
from app.store.edge import QdrantEdgeStore
from tests.conftest import _free_port, serve_in_thread


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QdrantEdgeStore]:
    store = QdrantEdgeStore(tmp_path_factory.mktemp("documents-api") / "qdrant")
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(encoder: OnnxEncoder, edge_store: QdrantEdgeStore) -> Iterator[httpx.Client]:
    service = SearchService(encoder, edge_store, Metrics())
    for url in serve_in_thread(create_app(Settings(), service), _free_port()):
        with httpx.Client(base_url=url, timeout=60) as http:
            yield http


def _document_url(collection: str, doc_id: str) -> str:
    """Every character percent-encoded, dots too: clients collapse a bare `..` segment."""
    encoded = quote(doc_id, safe="").replace(".", "%2E")
    return f"/v1/collections/{collection}/documents/{encoded}"


def _is_json_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("name", ["_x", "-x", "_", "a" * 129])
def test_names_the_store_refuses_are_a_json_422_on_every_route(
    client: httpx.Client, name: str
) -> None:
    document = {"documents": [{"id": "1", "text": "hello"}]}
    _is_json_error(
        client.post(f"/v1/collections/{name}/documents", json=document), 422, "invalid_request"
    )
    _is_json_error(client.get(_document_url(name, "1")), 422, "invalid_request")
    _is_json_error(client.delete(_document_url(name, "1")), 422, "invalid_request")
    _is_json_error(client.delete(f"/v1/collections/{name}"), 422, "invalid_request")
    search = {"query": "hello", "collection": name}
    _is_json_error(client.post("/v1/search", json=search), 422, "invalid_request")


def test_a_name_the_api_takes_is_one_the_store_takes(client: httpx.Client) -> None:
    name = "A" + "_-9" * 42  # 127 characters, every allowed kind
    response = client.post(
        f"/v1/collections/{name}/documents", json={"documents": [{"id": "1", "text": "hello"}]}
    )
    assert response.status_code == 200, response.text
    assert client.delete(f"/v1/collections/{name}").status_code == 200


def test_duplicate_ids_in_one_upsert_are_a_422_and_nothing_is_written(
    client: httpx.Client,
) -> None:
    body = {"documents": [{"id": "same", "text": "one"}, {"id": "same", "text": "two"}]}
    response = client.post("/v1/collections/dups/documents", json=body)
    _is_json_error(response, 422, "invalid_request")
    assert "'same' appears more than once" in response.json()["error"]["message"]
    assert "dups" not in {c["name"] for c in client.get("/v1/collections").json()["collections"]}


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, [1, 2**64]])
def test_metadata_integers_beyond_64_bits_are_a_422_not_stored_as_floats(
    client: httpx.Client, value: object
) -> None:
    """Qdrant keeps 64-bit integers: 2**63 used to come back as the float 9.223372036854776e18."""
    body = {"documents": [{"id": "big", "text": "one", "metadata": {"n": value}}]}
    response = client.post("/v1/collections/wide/documents", json=body)
    _is_json_error(response, 422, "invalid_request")
    assert "does not fit a 64-bit integer" in response.json()["error"]["message"]
    edge = {"documents": [{"id": "edge", "text": "one", "metadata": {"n": [2**63 - 1, -(2**63)]}}]}
    assert client.post("/v1/collections/wide/documents", json=edge).status_code == 200
    stored = client.get(_document_url("wide", "edge")).json()["metadata"]
    assert stored == {"n": [2**63 - 1, -(2**63)]}  # exact, still integers


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"b": 1}, "not an object or a list of lists"),
        ([1, [2]], "not an object or a list of lists"),
        (["ok", "bell \u0007"], "U+0007 at position 5 is a control character"),
    ],
)
def test_a_bad_metadata_value_is_refused_in_one_sentence(
    client: httpx.Client, value: object, message: str
) -> None:
    """The refusal names the field and what is wrong, not the validators of each type that
    metadata values may have (it read "metadata.a.function-after[check_characters(), str]:
    Input should be a valid string (and 4 more)")."""
    body = {"documents": [{"id": "m", "text": "one", "metadata": {"a": value}}]}
    response = client.post("/v1/collections/meta/documents", json=body)
    _is_json_error(response, 422, "invalid_request")
    error = response.json()["error"]["message"]
    assert error.startswith("documents.0.metadata.a: ") and message in error
    assert "function-after" not in error and "more)" not in error


def test_metadata_keys_in_any_script_with_dots_or_spaces_can_be_filtered_and_grouped_on(
    client: httpx.Client,
) -> None:
    """`metadata.KEY` names the whole rest as one key: `metadata.a.b` is the key "a.b" (the
    engine would read it as "b" inside "a"), `metadata.文章` a Chinese key."""
    documents = [
        {"id": "1", "text": "Everyone has the right to life.", "metadata": {"文章": 3, "a.b": "x"}},
        {
            "id": "2",
            "text": "No one shall be held in slavery.",
            "metadata": {"文章": 4, "a.b": "y"},
        },
        {
            "id": "3",
            "text": "Everyone has the right to rest.",
            "metadata": {"文章": 24, "a b": "z"},
        },
    ]
    body = {"documents": documents}
    assert client.post("/v1/collections/keys/documents", json=body).status_code == 200
    search = {"collection": "keys", "query": "right", "top_k": 10, "highlight": False}

    def ids(**extra: object) -> list[str]:
        response = client.post("/v1/search", json=search | extra)
        assert response.status_code == 200, response.text
        return sorted(hit["id"] for hit in response.json()["results"])

    assert ids(filter={"metadata.文章": 4}) == ["2"]
    assert ids(filter={"metadata.a.b": {"any": ["x", "y"]}}) == ["1", "2"]
    assert ids(filter={"metadata.a b": "z"}) == ["3"]
    assert ids(group_by="metadata.a.b") == ["1", "2"]  # "3" has no such key: in no group


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_a_passage_whose_group_field_is_a_list_is_in_the_group_of_each_value(
    client: httpx.Client, mode: str
) -> None:
    """As Qdrant groups: a list of values puts a passage in each value's group, and the group's
    size counts it (it was in none, and a Qdrant server's answer for it was a 500)."""
    documents = [
        {
            "id": "both",
            "text": "Everyone has the right to rest and leisure.",
            "metadata": {"t": ["rest", "work"]},
        },
        {"id": "work", "text": "Everyone has the right to work.", "metadata": {"t": "work"}},
        {"id": "none", "text": "Everyone has the right to life.", "metadata": {"t": [1, True]}},
    ]
    assert client.post("/v1/collections/tags/documents", json={"documents": documents}).is_success
    search = {
        "collection": "tags",
        "query": "right to rest",
        "group_by": "metadata.t",
        "mode": mode,
    }
    response = client.post("/v1/search", json=search)
    assert response.status_code == 200, response.text
    groups = {
        hit["group"]["value"]: (hit["id"], hit["group"]["size"])
        for hit in response.json()["results"]
    }
    assert groups == {"rest": ("both", 1), "work": ("both", 2)}


def test_an_upsert_into_a_collection_of_another_dimension_is_a_409(
    client: httpx.Client, edge_store: QdrantEdgeStore, encoder: OnnxEncoder
) -> None:
    edge_store.create_collection("narrow", 3, encoder.card.name)
    vector = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    edge_store.upsert("narrow", [Point("00000000-0000-0000-0000-000000000001", vector, {})])
    body = {"documents": [{"id": "1", "text": "hello"}]}
    response = client.post("/v1/collections/narrow/documents", json=body)
    _is_json_error(response, 409, "dimension_mismatch")
    assert "dimension 3" in response.json()["error"]["message"]
    assert edge_store.count("narrow") == 1


def test_an_upsert_into_another_models_collection_is_a_409(
    client: httpx.Client, edge_store: QdrantEdgeStore, encoder: OnnxEncoder
) -> None:
    edge_store.create_collection("foreign", encoder.dim, "some-other-model")
    body = {"documents": [{"id": "1", "text": "hello"}]}
    response = client.post("/v1/collections/foreign/documents", json=body)
    _is_json_error(response, 409, "model_mismatch")
    assert edge_store.count("foreign") == 0


@pytest.mark.parametrize(
    "doc_id",
    [
        "eng/1",
        "a/b/c",
        "/leading",
        "trailing/",
        "100%",
        "a%2Fb",
        "日本語/第1条",
        "a b?c#d",
        "..",
        "x/../y",
    ],
)
def test_ids_with_any_characters_are_written_read_and_deleted(
    client: httpx.Client, doc_id: str
) -> None:
    body = {"documents": [{"id": doc_id, "text": f"the text of {doc_id}", "language": "eng"}]}
    assert client.post("/v1/collections/ids/documents", json=body).status_code == 200
    got = client.get(_document_url("ids", doc_id))
    assert got.status_code == 200, got.text
    assert got.json()["id"] == doc_id
    assert got.json()["chunks"] == [f"the text of {doc_id}"]
    deleted = client.delete(_document_url("ids", doc_id))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"collection": "ids", "id": doc_id, "chunks_deleted": 1}
    _is_json_error(client.get(_document_url("ids", doc_id)), 404, "document_not_found")


def test_an_id_with_a_slash_is_found_unencoded_too(client: httpx.Client) -> None:
    body = {"documents": [{"id": "eng/1", "text": "Article one."}]}
    assert client.post("/v1/collections/slash/documents", json=body).status_code == 200
    assert client.get("/v1/collections/slash/documents/eng/1").json()["id"] == "eng/1"
    assert client.get("/v1/collections/slash/documents/eng%2F1").json()["id"] == "eng/1"
    assert client.get("/v1/collections/slash/documents/eng").status_code == 404


@pytest.mark.parametrize("field", ["language", "lang"])
def test_a_documents_language_is_called_language_and_lang_is_still_accepted(
    client: httpx.Client, field: str
) -> None:
    body = {"documents": [{"id": "d", "text": "Bonjour tout le monde.", field: "fra"}]}
    assert client.post(f"/v1/collections/lang-{field}/documents", json=body).status_code == 200
    assert client.get(_document_url(f"lang-{field}", "d")).json()["language"] == "fra"
    both = {"documents": [{"id": "d", "text": "x", "lang": "fra", "language": "fra"}]}
    response = client.post(f"/v1/collections/lang-{field}/documents", json=both)
    _is_json_error(response, 422, "invalid_request")


def test_deleting_a_collection_removes_it_and_a_second_delete_is_a_404(
    client: httpx.Client,
) -> None:
    body = {"documents": [{"id": str(i), "text": f"document number {i}"} for i in range(3)]}
    assert client.post("/v1/collections/doomed/documents", json=body).status_code == 200
    response = client.delete("/v1/collections/doomed")
    assert response.status_code == 200, response.text
    assert response.json() == {"collection": "doomed", "points_deleted": 3}
    names = {c["name"] for c in client.get("/v1/collections").json()["collections"]}
    assert "doomed" not in names
    _is_json_error(client.get(_document_url("doomed", "0")), 404, "collection_not_found")
    _is_json_error(client.delete("/v1/collections/doomed"), 404, "collection_not_found")
    # Writing again creates it anew, empty of the old documents.
    again = {"documents": [{"id": "new", "text": "a fresh start"}]}
    assert client.post("/v1/collections/doomed/documents", json=again).status_code == 200
    _is_json_error(client.get(_document_url("doomed", "0")), 404, "document_not_found")


def test_deleting_a_collection_removes_its_files(
    client: httpx.Client, edge_store: QdrantEdgeStore
) -> None:
    body = {"documents": [{"id": "1", "text": "short lived"}]}
    assert client.post("/v1/collections/files/documents", json=body).status_code == 200
    root = edge_store._root
    assert (root / "files").is_dir()
    assert client.delete("/v1/collections/files").status_code == 200
    assert not (root / "files").exists()


def test_a_language_written_is_found_by_its_other_codes_at_once(client: httpx.Client) -> None:
    """The collection's codes are cached for searches; a write through the API renews them."""
    search = {"query": "freedom", "collection": "langs", "languages": ["de"], "mode": "dense"}
    first = {"documents": [{"id": "en", "text": "Freedom of thought.", "language": "eng"}]}
    assert client.post("/v1/collections/langs/documents", json=first).status_code == 200
    assert client.post("/v1/search", json=search).json()["results"] == []
    german = {"id": "de", "text": "Gedankenfreiheit.", "language": "deu_1996"}
    assert client.post("/v1/collections/langs/documents", json={"documents": [german]}).is_success
    body = client.post("/v1/search", json=search).json()
    assert body["languages"] == ["de", "deu_1996"]
    assert [r["id"] for r in body["results"]] == ["de"]
    assert client.delete(_document_url("langs", "de")).is_success
    assert client.post("/v1/search", json=search).json()["languages"] == ["de"]


def test_languages_are_named_by_their_documents_or_else_by_their_codes(
    client: httpx.Client,
) -> None:
    """A `language_name` in metadata names the language when it is a text; otherwise (absent,
    a number) the code does (before, a number there made search and the list answer 500)."""
    documents = [
        {"id": "sw", "text": "Kila mtu ana haki.", "language": "swh"},
        {"id": "de", "text": "Jeder hat das Recht.", "language": "deu_1996",
         "metadata": {"language_name": 5}},
        {"id": "yo", "text": "Gbogbo ènìyàn.", "language": "yor",
         "metadata": {"language_name": "Èdè Yorùbá"}},
        {"id": "x", "text": "Everyone has the right.", "language": "007"},
    ]  # fmt: skip
    url = "/v1/collections/named/documents"
    assert client.post(url, json={"documents": documents}).status_code == 200
    expected = {"swh": "Swahili (individual language)", "deu_1996": "German",
                "yor": "Èdè Yorùbá", "007": None}  # fmt: skip
    listed = client.get("/v1/collections/named/languages")
    assert listed.status_code == 200
    assert {lang["code"]: lang["name"] for lang in listed.json()["languages"]} == expected
    search = client.post("/v1/search", json={"query": "right", "collection": "named"})
    assert search.status_code == 200
    named = {r["language"]: r["language_name"] for r in search.json()["results"]}
    assert named == expected


def test_languages_are_listed_by_name_whatever_punctuation_leads_it(
    client: httpx.Client,
) -> None:
    """Some UDHR translations' names are in parentheses ("(Bataknese)"): the list put them all
    before "Amharic"."""
    documents = [
        {"id": str(n), "text": "Everyone has the right.", "language": code,
         "metadata": {"language_name": name}}
        for n, (code, name) in enumerate(
            [("zul", "Zulu"), ("050", "(Bataknese)"), ("amh", "Amharic"), ("x1", "«Cuna»")]
        )
    ]  # fmt: skip
    url = "/v1/collections/punctuated/documents"
    assert client.post(url, json={"documents": documents}).status_code == 200
    listed = client.get("/v1/collections/punctuated/languages").json()["languages"]
    assert [lang["name"] for lang in listed] == ["Amharic", "(Bataknese)", "«Cuna»", "Zulu"]


def _swahili_behind_the_service(
    client: httpx.Client, edge_store: QdrantEdgeStore, encoder: OnnxEncoder, collection: str
) -> dict[str, object]:
    """An English document written through the service, searched for Swahili (`sw`): nothing,
    and the codes cached; then a Swahili passage written to the store behind the service's
    back. The search, to ask again."""
    search: dict[str, object] = {
        "query": "hello",
        "collection": collection,
        "languages": ["sw"],
        "mode": "dense",
    }
    first = {"documents": [{"id": "en", "text": "Hello.", "language": "eng"}]}
    assert client.post(f"/v1/collections/{collection}/documents", json=first).is_success
    assert client.post("/v1/search", json=search).json()["languages"] == ["sw"]
    vector = encoder.encode(["Habari."], "passage")[0]
    edge_store.upsert(collection, [Point(str(uuid.uuid4()), vector, {
        "doc_id": "sw", "chunk": 0, "text": "Habari.", "language": "swh",
    })])  # fmt: skip
    return search


def test_a_language_another_writer_adds_is_found_once_the_codes_expire(
    client: httpx.Client,
    edge_store: QdrantEdgeStore,
    encoder: OnnxEncoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writes that bypass the service (a remote Qdrant's other writers) are seen within
    `LANGUAGES_FRESH_S`; set to 0 here, so at the next search."""
    monkeypatch.setattr("app.service.LANGUAGES_FRESH_S", 0.0)
    search = _swahili_behind_the_service(client, edge_store, encoder, "elsewhere")
    body = client.post("/v1/search", json=search).json()
    assert body["languages"] == ["sw", "swh"]
    assert [r["id"] for r in body["results"]] == ["sw"]


def test_a_write_renews_the_cached_languages_of_its_own_collection_only(
    client: httpx.Client,
    edge_store: QdrantEdgeStore,
    encoder: OnnxEncoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Background indexing writes a batch every second or so: each renewed every collection's
    codes and names, which the next search or language list of any collection read again."""
    monkeypatch.setattr("app.service.LANGUAGES_FRESH_S", 3600.0)
    search = _swahili_behind_the_service(client, edge_store, encoder, "kept")
    other = {"documents": [{"id": "fr", "text": "Bonjour.", "language": "fra"}]}
    assert client.post("/v1/collections/other/documents", json=other).is_success
    assert client.post("/v1/search", json=search).json()["languages"] == ["sw"]  # still cached
    assert client.post("/v1/collections/kept/documents", json=other).is_success
    assert client.post("/v1/search", json=search).json()["languages"] == ["sw", "swh"]


def test_a_service_without_a_start_up_corpus_lists_no_indexing_job(client: httpx.Client) -> None:
    assert client.get("/v1/indexing").json() == {"jobs": []}
