"""A stateful test of the documents API: hypothesis drives create / upsert / get / delete /
search / delete-collection in random orders, with collection names and document ids drawn from
all of Unicode, against the real app (real model, real qdrant-edge store) over loopback HTTP.

Every answer must be JSON and never a 5xx, and the service's state must match a model of it:
every acknowledged document can be read back and is found by a search wide enough to return
everything, nothing deleted comes back, and the collection list and point counts agree.

Runtime is set by the hypothesis profile `HYPOTHESIS_PROFILE` names: `stateful-ci` (default,
about 1.5 min on 2 busy cores), `stateful-thorough` (a few thousand steps, for a longer look)
or `stateful-find` (ci without shrinking: to check quickly that a bug put back is found).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from app.backup import GatedStore
from app.encoder import OnnxEncoder
from tests.reliability.conftest import LiveApp

settings.register_profile(
    "stateful-ci",
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "stateful-thorough",
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
JSON = {"content-type": "application/json"}
# To check that the test finds a bug put back: stop at the first failure, do not shrink it.
settings.register_profile(
    "stateful-find",
    settings.get_profile("stateful-ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "stateful-ci")

# The documented rules (README "HTTP API"), restated here rather than imported from the code.
VALID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
REFUSED_CHARACTER = re.compile(r"[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")
MAX_ID_CHARS = 256
SENTENCES = (
    "Everyone has the right to life, liberty and security of person.",
    "Kila mtu ana haki ya kupata elimu.",
    "Toute personne a droit à la liberté de pensée.",
    "人人有权享有生命、自由和人身安全。",
    "لكل شخص الحق في العمل",
)

# Names: the rule's alphabet, where `_x` and `-x` lie (names the path once took and the store
# refused), and anything at all, `/` and surrogates included.
names = st.one_of(
    st.sampled_from(["docs", "Docs-2", "a_b"]),
    st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True),
    st.from_regex(r"[_-][A-Za-z0-9_-]{0,5}", fullmatch=True),  # the rule's first character
    st.text(max_size=8),
)
# Ids: mostly ones the rules accept (any Unicode but control characters and surrogates, so
# that documents get stored and can be read back), and anything at all the rest of the time.
storable_ids = st.one_of(
    st.sampled_from(["eng/1", "eng/2", "1", "..", "%2F", "日本/1"]),
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc"]), min_size=1, max_size=12
    ).filter(str.strip),
)
ids = st.one_of(storable_ids, storable_ids, st.text(min_size=1, max_size=12))
texts = st.one_of(
    st.sampled_from(SENTENCES), st.sampled_from(SENTENCES), st.text(min_size=1, max_size=40)
)
languages = st.sampled_from([None, "eng", "swh", "fra", "cmn_hans"])
language_fields = st.sampled_from(["language", "lang"])
documents = st.tuples(ids, texts, languages, language_fields)
# Mostly distinct ids per upsert; sometimes any list, where an id may repeat.
upserts = st.one_of(
    st.lists(documents, min_size=1, max_size=3, unique_by=lambda d: d[0]),
    st.lists(documents, min_size=2, max_size=3),
)


@dataclass(frozen=True)
class Stored:
    text: str
    language: str | None


def valid_name(name: str) -> bool:
    return VALID_NAME.fullmatch(name) is not None


def acceptable_id(doc_id: str) -> bool:
    return (
        bool(doc_id.strip())
        and len(doc_id) <= MAX_ID_CHARS
        and REFUSED_CHARACTER.search(doc_id) is None
    )


def acceptable_text(text: str) -> bool:
    return bool(text.strip()) and REFUSED_CHARACTER.search(text) is None


def encoded(segment: str) -> str:
    """Percent-encoded, dots too (clients collapse a bare `..`); surrogates as UTF-8 would
    refuse them, so those go as their escaped code units (the server must still answer)."""
    raw = segment.encode("utf-8", "surrogatepass")
    return quote(raw, safe="").replace(".", "%2E")


# Answers seen, by status, across the run (printed at its end: `pytest -s`).
ANSWERS: Counter[int] = Counter()


def answer(response: httpx.Response) -> Any:
    """The JSON body; fails on a 5xx or on anything that is not JSON."""
    ANSWERS[response.status_code] += 1
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/json"), f"{content_type}: {response.text[:200]}"
    return response.json()


class DocumentsApi(RuleBasedStateMachine):
    live: LiveApp
    encoder: OnnxEncoder

    def __init__(self) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=self.live.url, timeout=120)
        self.collections: dict[str, dict[str, Stored]] = {}
        self.foreign: set[str] = set()  # collections of another model or dimension

    @initialize(name=st.from_regex(r"old-[a-z]{1,3}", fullmatch=True), dim_differs=st.booleans())
    def a_store_that_served_another_model(self, name: str, dim_differs: bool) -> None:
        """An empty store but for one collection of another model, or another dimension."""
        store: GatedStore = self.live.store
        for info in store.list_collections():
            store.delete_collection(info.name)
        self.another_models_collection(name, dim_differs)

    def teardown(self) -> None:
        self.http.close()

    @rule(name=names, dim_differs=st.booleans())
    def another_models_collection(self, name: str, dim_differs: bool) -> None:
        """A collection filled by another model (say, before the served one changed)."""
        if not valid_name(name) or name in self.collections or name in self.foreign:
            return
        if dim_differs:
            self.live.store.create_collection(name, 3, self.encoder.card.name)
        else:
            self.live.store.create_collection(name, self.encoder.dim, "another-model")
        self.foreign.add(name)

    @rule(data=st.data(), documents=upserts)
    def upsert(
        self, data: st.DataObject, documents: list[tuple[str, str, str | None, str]]
    ) -> None:
        name = data.draw(self._names())
        body = []
        for doc_id, text, language, field in documents:
            document: dict[str, Any] = {"id": doc_id, "text": text}
            if language is not None:
                document[field] = language
            body.append(document)
        response = self.http.post(
            f"/v1/collections/{encoded(name)}/documents",
            content=_json(documents=body),
            headers=JSON,
        )
        result = answer(response)
        doc_ids = [doc_id for doc_id, *_ in documents]
        acceptable = (
            valid_name(name)
            and len(set(doc_ids)) == len(doc_ids)
            and all(acceptable_id(i) and acceptable_text(t) for i, t, *_ in documents)
        )
        if not acceptable:
            assert 400 <= response.status_code < 500, result
            return
        if name in self.foreign:
            assert response.status_code == 409, result
            assert result["error"]["code"] in {"model_mismatch", "dimension_mismatch"}
            return
        assert response.status_code == 200, result
        assert result["documents"] + result["unchanged"] == len(documents)
        stored = self.collections.setdefault(name, {})
        for doc_id, text, language, _ in documents:
            stored[doc_id] = Stored(text.strip(), language)

    @rule(data=st.data())
    def get_document(self, data: st.DataObject) -> None:
        name, doc_id = self._pick(data)
        response = self.http.get(f"/v1/collections/{encoded(name)}/documents/{encoded(doc_id)}")
        result = answer(response)
        expected = self.collections.get(name, {}).get(doc_id)
        if expected is None:
            assert 400 <= response.status_code < 500, result
            return
        assert response.status_code == 200, result
        assert result["id"] == doc_id
        assert result["language"] == expected.language
        if expected.text in SENTENCES:
            assert result["chunks"] == [expected.text]

    @rule(data=st.data())
    def read_back_everything(self, data: st.DataObject) -> None:
        """Every acknowledged document of a collection, read by its id: nothing is lost, and
        every id, whatever its characters, can be read."""
        if not self.collections:
            return
        name = data.draw(st.sampled_from(sorted(self.collections)))
        for doc_id, expected in self.collections[name].items():
            response = self.http.get(f"/v1/collections/{encoded(name)}/documents/{encoded(doc_id)}")
            result = answer(response)
            assert response.status_code == 200, (doc_id, result)
            assert (result["id"], result["language"]) == (doc_id, expected.language)

    @rule(data=st.data())
    def delete_document(self, data: st.DataObject) -> None:
        name, doc_id = self._pick(data)
        response = self.http.delete(f"/v1/collections/{encoded(name)}/documents/{encoded(doc_id)}")
        result = answer(response)
        stored = self.collections.get(name, {})
        if doc_id not in stored:
            assert 400 <= response.status_code < 500, result
            return
        assert response.status_code == 200, result
        assert result["chunks_deleted"] >= 1
        del stored[doc_id]

    @rule(data=st.data(), query=texts)
    def search(self, data: st.DataObject, query: str) -> None:
        name = data.draw(self._names())
        body = {"query": query, "collection": name, "top_k": 100}
        response = self.http.post("/v1/search", content=_json(**body), headers=JSON)
        result = answer(response)
        status = result["error"]["code"] if response.status_code != 200 else 200
        if not valid_name(name) or not acceptable_text(query):
            assert status != 200, result
            return
        if name in self.foreign:
            assert status in {"model_mismatch", "dimension_mismatch"}, result
            return
        if name not in self.collections:
            assert status == "collection_not_found", result
            return
        assert status == 200, result
        stored = self.collections[name]
        # top_k above the document count: every stored passage comes back, nothing lost.
        assert sorted(r["id"] for r in result["results"]) == sorted(stored)

    @rule(name=names)
    def delete_collection(self, name: str) -> None:
        response = self.http.delete(f"/v1/collections/{encoded(name)}")
        result = answer(response)
        if name in self.collections or name in self.foreign:
            assert response.status_code == 200, result
            self.collections.pop(name, None)
            self.foreign.discard(name)
        else:
            assert 400 <= response.status_code < 500, result

    @invariant()
    def collections_and_counts_match(self) -> None:
        listed = answer(self.http.get("/v1/collections"))["collections"]
        points = {c["name"]: c["points"] for c in listed}
        assert set(points) == set(self.collections) | self.foreign
        for name, stored in self.collections.items():
            assert points[name] == len(stored), (name, points[name], sorted(stored))

    def _names(self) -> st.SearchStrategy[str]:
        known = sorted(self.collections) + sorted(self.foreign)
        return st.one_of(st.sampled_from(known), names) if known else names

    def _pick(self, data: st.DataObject) -> tuple[str, str]:
        """A known collection and document most of the time, else anything."""
        name = data.draw(self._names())
        stored = sorted(self.collections.get(name, {}))
        doc_id = data.draw(st.one_of(st.sampled_from(stored), ids) if stored else ids)
        return name, doc_id


def _json(**fields: Any) -> bytes:
    """JSON as a client in any language would send it: lone surrogates as `\\ud800` escapes."""
    return json.dumps(fields).encode("ascii")


def test_documents_api_keeps_its_state_and_answers_json(
    open_app: LiveApp, encoder: OnnxEncoder
) -> None:
    machine = type("Machine", (DocumentsApi,), {"live": open_app, "encoder": encoder})
    ANSWERS.clear()
    run_state_machine_as_test(machine, settings=settings.get_profile(PROFILE))
    print(f"answers by status ({PROFILE}): {dict(sorted(ANSWERS.items()))}")


@pytest.mark.parametrize("doc_id", ["eng/1", "\U0001f600/ü", "%2F", ".."])
def test_encoded_helper_round_trips_through_the_server(open_app: LiveApp, doc_id: str) -> None:
    """The URL helper itself: what it encodes is what the server decodes."""
    url = f"{open_app.url}/v1/collections/helper/documents/{encoded(doc_id)}"
    response = httpx.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "collection_not_found"
