"""The over-fetch-and-group rounds of app/store/groups.py against a plain ranked list."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.store.base import Filter, Hit, Vector
from app.store.groups import GROUP_OVERFETCH, group_values, search_groups

KEY = "metadata.article"


class RankedList:
    """A search over fixed scores that honours the two conditions the rounds add (`present`,
    `none_of` on the group key) and counts its calls."""

    def __init__(self, payloads: list[dict[str, Any]]) -> None:
        scores = np.random.default_rng(0).permutation(len(payloads))
        self.hits = sorted(
            (
                Hit(id=str(i), score=float(s), payload=p)
                for i, (s, p) in enumerate(zip(scores, payloads, strict=True))
            ),
            key=lambda h: -h.score,
        )
        self.calls: list[int] = []

    def __call__(self, vector: Vector, limit: int, where: Filter) -> list[Hit]:
        self.calls.append(limit)
        excluded = list(where.none_of.get(KEY, ()))
        kept = [
            h
            for h in self.hits
            if (KEY not in where.present or _article(h) not in (None, []))
            and not any(_same(stored, value) for stored in _stored(h) for value in excluded)
        ]
        return kept[:limit]


def _article(hit: Hit) -> Any:
    return hit.payload.get("metadata", {}).get("article")


def _stored(hit: Hit) -> list[Any]:
    """The values a condition on the field sees: a list's each (Qdrant matches an array when one
    of its values does)."""
    value = _article(hit)
    return value if isinstance(value, list) else [value]


def _same(stored: Any, excluded: Any) -> bool:
    """Qdrant's match compares with the type: 7 is not "7", True is not 1."""
    return type(stored) is type(excluded) and stored == excluded


def _truth(ranked: RankedList, groups: int) -> list[tuple[Any, str]]:
    best: dict[Any, str] = {}
    for hit in ranked.hits:
        for value in group_values(hit.payload, KEY):
            if value not in best and len(best) < groups:
                best[value] = hit.id
    return list(best.items())


def test_one_dominant_group_takes_several_rounds_and_still_gives_every_group() -> None:
    # 200 passages of article 1, then 3 of each of ten more: article 1 fills the first rounds.
    payloads = [{"metadata": {"article": 1}}] * 200 + [
        {"metadata": {"article": a}} for a in range(2, 12) for _ in range(3)
    ]
    ranked = RankedList(payloads)
    ranked.hits.sort(key=lambda h: (_article(h) != 1, -h.score))  # article 1 ranks first
    groups = search_groups(ranked, np.zeros(2, np.float32), KEY, 5)
    assert [(g.value, g.hit.id) for g in groups] == _truth(ranked, 5)
    assert len({_article(g.hit) for g in groups}) == 5
    assert ranked.calls[0] == 5 * GROUP_OVERFETCH
    assert len(ranked.calls) == 2  # the second round excludes article 1


def test_values_that_group_nothing_neither_count_nor_loop() -> None:
    payloads: list[dict[str, Any]] = [
        {"metadata": {"article": [1, True]}},  # a list with a bool groups nothing, as on Qdrant
        {"metadata": {"article": True}},  # nor does a bool
        {"metadata": {"article": 2.5}},  # nor a float
        {"metadata": {"article": []}},  # nor an empty list
        {"metadata": {}},  # a missing value is excluded by the round's filter
        {"metadata": {"article": "7"}},  # a string and an integer are different groups
        {"metadata": {"article": 7}},
    ] * 5
    ranked = RankedList(payloads)
    groups = search_groups(ranked, np.zeros(2, np.float32), KEY, 10)
    assert [(g.value, g.hit.id) for g in groups] == _truth(ranked, 10)
    assert sorted(map(repr, (g.value for g in groups))) == ["'7'", "7"]
    assert len(ranked.calls) <= 3


def test_a_point_of_several_groups_leads_each_of_them() -> None:
    payloads: list[dict[str, Any]] = [
        {"metadata": {"article": [3, 4, 3]}},
        {"metadata": {"article": 3}},
        {"metadata": {"article": ["x", 5]}},
    ]
    ranked = RankedList(payloads)
    ranked.hits.sort(key=lambda h: h.id)  # the list [3, 4] first, then 3, then ["x", 5]
    groups = search_groups(ranked, np.zeros(2, np.float32), KEY, 10)
    assert [(g.value, g.hit.id) for g in groups] == [(3, "0"), (4, "0"), ("x", "2"), (5, "2")]


def test_group_values_are_those_qdrant_groups_by() -> None:
    def values(article: Any) -> tuple[Any, ...]:
        return group_values({"metadata": {"article": article}}, KEY)

    assert values(7) == (7,)
    assert values("7") == ("7",)
    assert values([2, 1, 2]) == (2, 1)  # distinct, in the payload's order
    assert values(["a", 1]) == ("a", 1)
    for nothing in (None, True, 2.5, [], [1, 2.5], [1, False], {"a": 1}):
        assert values(nothing) == (), nothing
    assert group_values({}, KEY) == ()


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        search_groups(RankedList([]), np.zeros(2, np.float32), KEY, 0)
