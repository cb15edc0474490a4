"""The VectorStore contract, run against every backend (see conftest.py)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from app.store.base import (
    CollectionInfo,
    CollectionNotFoundError,
    EncoderMismatchError,
    Filter,
    Point,
    VectorStore,
)
from app.store.groups import RankedSearch, groups_by_mean
from tests.store.points import (
    brute_force,
    brute_force_group_means,
    brute_force_groups,
    random_points,
)

DIM = 32


def _filled(store: VectorStore, n: int = 300, seed: int = 0) -> list[Point]:
    points = random_points(np.random.default_rng(seed), n, DIM)
    store.create_collection("docs", DIM)
    store.upsert("docs", points)
    return points


def test_create_list_info_and_delete_collections(store: VectorStore) -> None:
    assert store.list_collections() == []
    store.create_collection("b-docs", 8)
    store.create_collection("a_docs", 16)
    assert store.list_collections() == [
        CollectionInfo(name="a_docs", dim=16, points=0),
        CollectionInfo(name="b-docs", dim=8, points=0),
    ]
    assert store.collection_info("b-docs") == CollectionInfo(name="b-docs", dim=8, points=0)
    assert store.dimension("b-docs") == 8
    store.delete_collection("a_docs")
    assert [c.name for c in store.list_collections()] == ["b-docs"]
    with pytest.raises(CollectionNotFoundError):
        store.collection_info("a_docs")
    with pytest.raises(CollectionNotFoundError):
        store.dimension("a_docs")


def test_ping_answers_while_open_and_raises_once_closed(store: VectorStore) -> None:
    store.ping()  # the readiness check (/readyz): no collection needed
    _filled(store, n=10)
    store.ping()
    store.close()
    with pytest.raises(RuntimeError):  # StoreClosedError (embedded); the client's own error
        store.ping()


def test_create_collection_is_idempotent_but_refuses_another_dimension(store: VectorStore) -> None:
    points = _filled(store, n=10)
    store.create_collection("docs", DIM)
    assert store.count("docs") == len(points)
    with pytest.raises(ValueError, match="dimension"):
        store.create_collection("docs", DIM + 1)
    assert store.collection_info("docs").dim == DIM


def test_a_collection_records_its_model_and_refuses_another(store: VectorStore) -> None:
    store.create_collection("docs", DIM, "model-a")
    store.create_collection("docs", DIM, "model-a")  # idempotent
    assert store.encoder("docs") == "model-a"
    assert store.collection_info("docs") == CollectionInfo("docs", DIM, 0, "model-a")
    with pytest.raises(EncoderMismatchError, match="holds vectors of the model 'model-a'"):
        store.create_collection("docs", DIM, "model-b")  # same dimension, another space
    store.create_collection("legacy", DIM)  # no model recorded: taken on trust by anyone
    store.create_collection("legacy", DIM, "model-b")
    assert store.encoder("legacy") is None
    with pytest.raises(CollectionNotFoundError):
        store.encoder("nope")


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "with space", "-leading", "x" * 129])
def test_unsafe_collection_names_are_refused(store: VectorStore, name: str) -> None:
    with pytest.raises(ValueError, match="collection name"):
        store.create_collection(name, DIM)
    assert store.list_collections() == []


def test_upsert_then_count_retrieve_and_find(store: VectorStore) -> None:
    points = _filled(store)
    assert store.count("docs") == len(points)
    assert store.collection_info("docs").points == len(points)

    missing = str(uuid.uuid4())
    wanted = [points[5].id, missing, points[2].id]
    hits = store.retrieve("docs", wanted)
    assert [h.id for h in hits] == [points[5].id, points[2].id]
    assert [h.payload for h in hits] == [points[5].payload, points[2].payload]
    assert all(h.score == 0.0 for h in hits)

    english = sorted(p.id for p in points if p.payload["language"] == "en")
    found = store.find("docs", Filter(equals={"language": "en"}))
    assert [h.id for h in found] == english
    assert store.find("docs", Filter(equals={"language": "en"}), limit=3) == found[:3]
    assert [h.id for h in store.find("docs", Filter())] == sorted(p.id for p in points)


def test_upper_case_ids_are_the_same_points(store: VectorStore) -> None:
    points = _filled(store, n=5)
    shouted = replace(points[0], id=points[0].id.upper(), payload={"language": "fr"})
    store.upsert("docs", [shouted])
    assert store.count("docs") == 5
    assert [h.id for h in store.retrieve("docs", [points[0].id.upper()])] == [points[0].id]


def test_ids_must_be_uuids(store: VectorStore) -> None:
    _filled(store, n=5)
    bad = Point(id="chunk-1", vector=np.ones(DIM, np.float32), payload={})
    with pytest.raises(ValueError, match="UUID"):
        store.upsert("docs", [bad])
    assert store.count("docs") == 5


def test_upserting_an_id_again_replaces_the_point(store: VectorStore) -> None:
    points = _filled(store, n=50)
    target = points[7]
    new_vector = -target.vector
    store.upsert("docs", [Point(id=target.id, vector=new_vector, payload={"language": "qu"})])
    assert store.count("docs") == 50
    assert store.retrieve("docs", [target.id])[0].payload == {"language": "qu"}
    best = store.search("docs", new_vector, limit=1)[0]
    assert best.id == target.id
    assert best.score == pytest.approx(1.0, abs=1e-5)


def test_delete_by_ids(store: VectorStore) -> None:
    points = _filled(store, n=40)
    gone = {points[0].id, points[10].id, points[39].id}
    store.delete("docs", [*gone, str(uuid.uuid4())])
    assert store.count("docs") == 37
    assert store.retrieve("docs", sorted(gone)) == []
    remaining = {h.id for h in store.find("docs", Filter())}
    assert remaining == {p.id for p in points} - gone


def test_delete_where_drops_the_stale_chunks_of_one_document(store: VectorStore) -> None:
    points = _filled(store, n=120)
    doc = points[0].payload["doc_id"]
    chunks = [p for p in points if p.payload["doc_id"] == doc]
    fresh = [replace(p, payload={**p.payload, "doc_hash": "h2"}) for p in chunks[:2]]
    store.upsert("docs", fresh)

    store.delete_where("docs", Filter(equals={"doc_id": doc}, not_equals={"doc_hash": "h2"}))

    assert sorted(h.id for h in store.find("docs", Filter(equals={"doc_id": doc}))) == sorted(
        p.id for p in fresh
    )
    assert store.count("docs") == len(points) - len(chunks) + len(fresh)


def test_filters_combine_equals_not_equals_and_any_of(store: VectorStore) -> None:
    points = _filled(store)

    def expected(keep: Callable[[dict[str, Any]], bool]) -> list[str]:
        return sorted(p.id for p in points if keep(p.payload))

    where = Filter(any_of={"language": ["en", "sw"]}, not_equals={"doc_id": "doc-3"})
    matching = expected(lambda p: p["language"] in ("en", "sw") and p["doc_id"] != "doc-3")
    assert [h.id for h in store.find("docs", where)] == matching
    assert store.count("docs", where) == len(matching)
    where = Filter(equals={"language": "fr", "doc_id": "doc-1"})
    assert [h.id for h in store.find("docs", where)] == expected(
        lambda p: p["language"] == "fr" and p["doc_id"] == "doc-1"
    )
    assert store.count("docs", Filter(any_of={"language": []})) == 0
    assert store.count("docs", Filter(equals={"chunk": 3})) == 1


def test_filters_on_nested_fields_integers_exclusions_and_presence(store: VectorStore) -> None:
    points = _filled(store)

    def expected(keep: Callable[[dict[str, Any]], bool]) -> list[str]:
        return sorted(p.id for p in points if keep(p.payload))

    def article(payload: dict[str, Any]) -> int | None:
        value: int | None = payload["metadata"].get("article")
        return value

    cases: list[tuple[Filter, Callable[[dict[str, Any]], bool]]] = [
        (Filter(equals={"metadata.article": 5}), lambda p: article(p) == 5),
        (
            Filter(any_of={"metadata.article": [1, 2]}, equals={"metadata.part": "p1"}),
            lambda p: article(p) in (1, 2) and p["metadata"]["part"] == "p1",
        ),
        (Filter(present=["metadata.article"]), lambda p: article(p) is not None),
        (
            Filter(none_of={"metadata.article": [0, 3], "language": ["en"]}),
            lambda p: article(p) not in (0, 3) and p["language"] != "en",
        ),
        (  # strings and integers excluded together
            Filter(none_of={"metadata.article": [4, "4"]}, present=["metadata.article"]),
            lambda p: article(p) not in (None, 4),
        ),
    ]
    for where, keep in cases:
        assert [h.id for h in store.find("docs", where)] == expected(keep), where
        assert store.count("docs", where) == len(expected(keep))
    assert store.count("docs", Filter(equals={"metadata.article": "5"})) == 0  # typed


def test_search_with_a_metadata_filter(store: VectorStore) -> None:
    points = _filled(store)
    query = np.random.default_rng(3).normal(size=DIM).astype(np.float32)
    where = Filter(any_of={"metadata.article": [2, 7]})
    hits = store.search("docs", query, limit=10, where=where)
    pool = [p for p in points if p.payload["metadata"].get("article") in (2, 7)]
    assert [h.id for h in hits] == [i for i, _ in brute_force(pool, query, 10)]


@pytest.mark.parametrize("groups", [1, 5, 12, 20])
def test_search_groups_gives_the_best_hit_of_each_best_group(
    store: VectorStore, groups: int
) -> None:
    points = _filled(store)
    rng = np.random.default_rng(4)
    for _ in range(3):
        query = rng.normal(size=DIM).astype(np.float32)
        best = store.search_groups("docs", query, "metadata.article", groups)
        truth = brute_force_groups(points, query, "article", groups)
        assert [g.hit.id for g in best] == [i for i, _ in truth]
        assert len(best) == min(groups, 12)  # as many as asked while that many groups exist
        assert all(g.value == g.hit.payload["metadata"]["article"] for g in best)
        np.testing.assert_allclose([g.hit.score for g in best], [s for _, s in truth], atol=1e-4)


def _ranking(store: VectorStore, query: np.ndarray) -> RankedSearch:
    return lambda wanted, where: [(h, h.score) for h in store.search("docs", query, wanted, where)]


@pytest.mark.parametrize("passages", [2, 3])
def test_groups_by_mean_over_the_store_ranking_are_those_of_exact_search(
    store: VectorStore, passages: int
) -> None:
    points = _filled(store)
    rng = np.random.default_rng(5)
    for _ in range(3):
        query = rng.normal(size=DIM).astype(np.float32)
        found = groups_by_mean(_ranking(store, query), "metadata.article", 5, passages)
        truth = brute_force_group_means(points, query, "article", 5, passages)
        assert [g.group.value for g in found] == [value for value, _ in truth]
        np.testing.assert_allclose([g.score for g in found], [m for _, m in truth], atol=1e-4)


def test_search_groups_puts_a_point_whose_field_is_a_list_in_each_group(
    store: VectorStore,
) -> None:
    rng = np.random.default_rng(8)
    tags = [["a"], ["b"], ["a", "b"], ["c", "a"], [1], []]
    store.create_collection("docs", DIM)
    points = [
        Point(str(uuid.uuid4()), rng.normal(size=DIM).astype(np.float32), {"metadata": {"tags": t}})
        for t in tags * 5
    ]
    store.upsert("docs", points)
    for _ in range(3):
        query = rng.normal(size=DIM).astype(np.float32)
        best = store.search_groups("docs", query, "metadata.tags", 10)
        truth = brute_force_groups(points, query, "tags", 10)
        assert [g.hit.id for g in best] == [i for i, _ in truth]
        assert sorted(map(str, (g.value for g in best))) == ["1", "a", "b", "c"]
        assert all(g.value in g.hit.payload["metadata"]["tags"] for g in best)


def test_search_groups_within_a_filter(store: VectorStore) -> None:
    points = _filled(store)
    query = np.random.default_rng(5).normal(size=DIM).astype(np.float32)
    where = Filter(any_of={"language": ["sw", "yo"]}, not_equals={"metadata.article": 3})
    best = store.search_groups("docs", query, "metadata.article", 8, where)
    pool = [
        p
        for p in points
        if p.payload["language"] in ("sw", "yo") and p.payload["metadata"].get("article") != 3
    ]
    assert [g.hit.id for g in best] == [i for i, _ in brute_force_groups(pool, query, "article", 8)]
    assert store.search_groups("docs", query, "metadata.nothing", 5) == []


def test_facet_within_a_filter(store: VectorStore) -> None:
    points = _filled(store)
    where = Filter(equals={"metadata.article": 4})
    expected = Counter(
        p.payload["language"] for p in points if p.payload["metadata"].get("article") == 4
    )
    assert store.facet("docs", "language", where) == expected
    assert store.facet("docs", "language", where, exact=False) == expected
    assert store.facet("docs", "language", Filter(equals={"metadata.article": 99})) == {}


def test_metadata_keys_with_dots_spaces_or_other_scripts(store: VectorStore) -> None:
    """`metadata.KEY` is one key whatever it holds (app/store/fields.py): `metadata.a.b` is not
    "b" inside "a"."""
    store.create_collection("docs", DIM)
    rng = np.random.default_rng(6)
    keys = [{"a.b": "x", "文章": 1}, {"a.b": "y", "文章": 2}, {"a b": "z", "a": {"b": "x"}}]
    points = [
        Point(str(uuid.uuid4()), rng.normal(size=DIM).astype(np.float32), {"metadata": metadata})
        for metadata in keys
    ]
    store.upsert("docs", points)
    ids = [p.id for p in points]

    def found(where: Filter) -> list[str]:
        return sorted(h.id for h in store.find("docs", where))

    assert found(Filter(equals={"metadata.a.b": "x"})) == [ids[0]]
    assert found(Filter(any_of={"metadata.文章": [2, 3]})) == [ids[1]]
    assert found(Filter(equals={"metadata.a b": "z"})) == [ids[2]]
    assert found(Filter(present=["metadata.a.b"])) == sorted(ids[:2])
    query = rng.normal(size=DIM).astype(np.float32)
    grouped = store.search_groups("docs", query, "metadata.a.b", 5)
    assert sorted(g.hit.id for g in grouped) == sorted(ids[:2])


def test_search_ranks_like_brute_force_cosine(store: VectorStore) -> None:
    points = _filled(store)
    rng = np.random.default_rng(1)
    for _ in range(5):
        query = (rng.normal(size=DIM) * 7.0).astype(np.float32)
        hits = store.search("docs", query, limit=10)
        truth = brute_force(points, query, 10)
        assert [h.id for h in hits] == [i for i, _ in truth]
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in truth], atol=1e-4)
        assert hits[0].payload == next(p.payload for p in points if p.id == hits[0].id)


def test_search_within_languages(store: VectorStore) -> None:
    points = _filled(store)
    query = np.random.default_rng(2).normal(size=DIM).astype(np.float32)
    allowed = ["sw", "yo"]
    hits = store.search("docs", query, limit=10, where=Filter(any_of={"language": allowed}))
    pool = [p for p in points if p.payload["language"] in allowed]
    assert [h.id for h in hits] == [i for i, _ in brute_force(pool, query, 10)]
    assert {h.payload["language"] for h in hits} <= set(allowed)


def test_facet_counts_every_value(store: VectorStore) -> None:
    points = _filled(store)
    assert store.facet("docs", "language") == Counter(p.payload["language"] for p in points)
    assert store.facet("docs", "doc_id") == Counter(p.payload["doc_id"] for p in points)
    with pytest.raises(ValueError, match="indexed"):
        store.facet("docs", "doc_hash")
    store.create_collection("empty", DIM)
    assert store.facet("empty", "language") == {}


def test_vectors_of_another_dimension_are_refused(store: VectorStore) -> None:
    _filled(store, n=5)
    wrong = np.ones(DIM + 3, np.float32)
    with pytest.raises(ValueError, match="shape"):
        store.upsert("docs", [Point(id=str(uuid.uuid4()), vector=wrong, payload={})])
    with pytest.raises(ValueError, match="shape"):
        store.search("docs", wrong, limit=3)
    with pytest.raises(ValueError, match="NaN"):
        store.search("docs", np.full(DIM, np.nan, np.float32), limit=3)
    assert store.count("docs") == 5


def test_find_pages_through_more_than_one_scroll_page(store: VectorStore) -> None:
    points = _filled(store, n=2_300)
    ids = sorted(p.id for p in points)
    assert [h.id for h in store.find("docs", Filter(), limit=2_100)] == ids[:2_100]
    assert len(store.find("docs", Filter())) == 2_300


def test_delete_where_with_no_condition_empties_the_collection(store: VectorStore) -> None:
    _filled(store, n=20)
    store.delete_where("docs", Filter())
    assert store.count("docs") == 0


OPERATIONS: dict[str, Callable[[VectorStore], object]] = {
    "collection_info": lambda s: s.collection_info("nope"),
    "delete_collection": lambda s: s.delete_collection("nope"),
    "upsert": lambda s: s.upsert(
        "nope", [Point(id=str(uuid.uuid4()), vector=np.ones(DIM, np.float32), payload={})]
    ),
    "delete": lambda s: s.delete("nope", [str(uuid.uuid4())]),
    "delete_where": lambda s: s.delete_where("nope", Filter(equals={"doc_id": "x"})),
    "retrieve": lambda s: s.retrieve("nope", [str(uuid.uuid4())]),
    "find": lambda s: s.find("nope", Filter()),
    "count": lambda s: s.count("nope"),
    "facet": lambda s: s.facet("nope", "language"),
    "search": lambda s: s.search("nope", np.ones(DIM, np.float32), limit=3),
    "search_groups": lambda s: s.search_groups("nope", np.ones(DIM, np.float32), "doc_id", 3),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_operations_on_a_missing_collection_raise(store: VectorStore, operation: str) -> None:
    store.create_collection("other", DIM)
    with pytest.raises(CollectionNotFoundError):
        OPERATIONS[operation](store)


def test_a_deleted_collection_is_gone(store: VectorStore) -> None:
    _filled(store, n=10)
    store.delete_collection("docs")
    with pytest.raises(CollectionNotFoundError):
        store.count("docs")
    store.create_collection("docs", DIM + 1)
    assert store.collection_info("docs") == CollectionInfo(name="docs", dim=DIM + 1, points=0)
