"""The over-fetch-and-group rounds of app/store/groups.py against a plain ranked list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from app.store.base import Filter, Hit, Vector
from app.store.groups import (
    GROUP_OVERFETCH,
    MEAN_DEPTH_LIMIT,
    RankedSearch,
    group_values,
    groups_by_mean,
    search_groups,
)

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


def _rescore(ranked: RankedList, scores: Iterable[float]) -> None:
    """Give the list's points these scores, in its order, and rank them again."""
    rescored = [replace(h, score=s) for h, s in zip(ranked.hits, scores, strict=True)]
    ranked.hits = sorted(rescored, key=lambda h: -h.score)


def _ranked_search(ranked: RankedList) -> RankedSearch:
    vector = np.zeros(2, np.float32)
    return lambda wanted, where: [(h, h.score) for h in ranked(vector, wanted, where)]


def _means_by_hand(ranked: RankedList, passages: int) -> list[tuple[Any, float]]:
    """Every group's mean over its best `passages` points, best first, from the whole list."""
    members: dict[Any, list[float]] = {}
    for hit in ranked.hits:
        for value in group_values(hit.payload, KEY):
            members.setdefault(value, []).append(hit.score)
    means = {v: float(np.mean(s[:passages])) for v, s in members.items()}
    return sorted(means.items(), key=lambda item: -item[1])


@pytest.mark.parametrize("seed", range(20))
def test_groups_by_mean_are_the_groups_with_the_best_means(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 40, size=int(rng.integers(5, 60)))  # some smaller than `passages`
    payloads = [{"metadata": {"article": a}} for a, n in enumerate(sizes) for _ in range(n)]
    ranked = RankedList(payloads)
    spread = [h.score + 40 * rng.random() * (1 + int(_article(h)) % 3) for h in ranked.hits]
    _rescore(ranked, spread)  # scores spread by group, so that means and bests disagree
    limit, passages = int(rng.integers(1, 12)), int(rng.integers(2, 6))

    found = groups_by_mean(_ranked_search(ranked), KEY, limit, passages)

    expected = _means_by_hand(ranked, passages)[:limit]
    assert [(g.group.value, round(g.score, 9)) for g in found] == [
        (v, round(m, 9)) for v, m in expected
    ]
    for g in found:  # each comes with its best point and that point's score
        best = next(h for h in ranked.hits if _article(h) == g.group.value)
        assert (g.group.hit.id, g.best) == (best.id, best.score)


def test_groups_by_mean_put_a_group_of_many_near_passages_before_a_lone_nearest_one() -> None:
    # Article 1: one point nearest the query (a hub), then far ones; article 2: three close ones.
    scores = {1: [0.95, 0.2, 0.1], 2: [0.9, 0.89, 0.88], 3: [0.5, 0.4, 0.3]}
    ranked = RankedList([{"metadata": {"article": a}} for a in scores for _ in scores[a]])
    ranked.hits.sort(key=lambda h: int(h.id))  # in the order of `scores`
    _rescore(ranked, [s for a in scores for s in scores[a]])

    by_mean = groups_by_mean(_ranked_search(ranked), KEY, 2, 3)
    by_best = search_groups(ranked, np.zeros(2, np.float32), KEY, 2)

    assert [g.group.value for g in by_mean] == [2, 1]
    assert [g.value for g in by_best] == [1, 2]
    assert by_mean[1].best == 0.95 and by_mean[1].score == pytest.approx(0.4166667)


def test_groups_by_mean_read_no_deeper_than_they_must() -> None:
    # Articles 0 and 1 alternate at the top, far above 28 more: the first read (2 groups x 3
    # points x GROUP_OVERFETCH) holds a dozen points of each and settles them.
    payloads = [{"metadata": {"article": a}} for a in range(30) for _ in range(50)]
    ranked = RankedList(payloads)
    ranked.hits.sort(key=lambda h: int(h.id))  # in the order of `payloads`
    top = {0: 100.0, 1: 99.95}
    _rescore(
        ranked, [top.get(int(_article(h)), 50.0) - 0.1 * (int(h.id) % 50) for h in ranked.hits]
    )

    found = groups_by_mean(_ranked_search(ranked), KEY, 2, 3)

    assert [g.group.value for g in found] == [0, 1]
    assert ranked.calls == [2 * 3 * GROUP_OVERFETCH]


def test_groups_by_mean_past_the_depth_limit_score_the_points_read() -> None:
    # Single-point groups never fill 3 points: the reads deepen up to MEAN_DEPTH_LIMIT, then
    # rank what they have (every group seen is whole here, so the ranking is still exact).
    payloads = [{"metadata": {"article": a}} for a in range(MEAN_DEPTH_LIMIT + 100)]
    ranked = RankedList(payloads)

    found = groups_by_mean(_ranked_search(ranked), KEY, 5, 3)

    assert [g.group.value for g in found] == [v for v, _ in _means_by_hand(ranked, 3)[:5]]
    assert ranked.calls == [60, 240, 960, 3840, MEAN_DEPTH_LIMIT]


def test_groups_by_mean_want_positive_counts() -> None:
    with pytest.raises(ValueError, match="positive"):
        groups_by_mean(_ranked_search(RankedList([])), KEY, 3, 0)
