"""The over-fetch-and-group rounds of app/store/groups.py against a plain ranked list."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.store.base import Filter, Hit, Vector
from app.store.groups import GROUP_OVERFETCH, group_value, search_groups

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
            if (KEY not in where.present or _article(h) is not None)
            and not any(_same(_article(h), value) for value in excluded)
        ]
        return kept[:limit]


def _article(hit: Hit) -> Any:
    return hit.payload.get("metadata", {}).get("article")


def _same(stored: Any, excluded: Any) -> bool:
    """Qdrant's match compares with the type: 7 is not "7", True is not 1."""
    return type(stored) is type(excluded) and stored == excluded


def _truth(ranked: RankedList, groups: int) -> list[str]:
    best: dict[Any, str] = {}
    for hit in ranked.hits:
        value = group_value(hit.payload, KEY)
        if value is not None and value not in best and len(best) < groups:
            best[value] = hit.id
    return list(best.values())


def test_one_dominant_group_takes_several_rounds_and_still_gives_every_group() -> None:
    # 200 passages of article 1, then 3 of each of ten more: article 1 fills the first rounds.
    payloads = [{"metadata": {"article": 1}}] * 200 + [
        {"metadata": {"article": a}} for a in range(2, 12) for _ in range(3)
    ]
    ranked = RankedList(payloads)
    ranked.hits.sort(key=lambda h: (_article(h) != 1, -h.score))  # article 1 ranks first
    hits = search_groups(ranked, np.zeros(2, np.float32), KEY, 5)
    assert [h.id for h in hits] == _truth(ranked, 5)
    assert len({_article(h) for h in hits}) == 5
    assert ranked.calls[0] == 5 * GROUP_OVERFETCH
    assert len(ranked.calls) == 2  # the second round excludes article 1


def test_values_that_group_nothing_neither_count_nor_loop() -> None:
    payloads: list[dict[str, Any]] = [
        {"metadata": {"article": [1, 2]}},  # a list groups nothing
        {"metadata": {"article": True}},  # nor does a bool
        {"metadata": {"article": 2.5}},  # nor a float
        {"metadata": {}},  # a missing value is excluded by the round's filter
        {"metadata": {"article": "7"}},  # a string and an integer are different groups
        {"metadata": {"article": 7}},
    ] * 5
    ranked = RankedList(payloads)
    hits = search_groups(ranked, np.zeros(2, np.float32), KEY, 10)
    assert [h.id for h in hits] == _truth(ranked, 10)
    assert sorted(map(repr, (_article(h) for h in hits))) == ["'7'", "7"]
    assert len(ranked.calls) <= 3


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        search_groups(RankedList([]), np.zeros(2, np.float32), KEY, 0)
