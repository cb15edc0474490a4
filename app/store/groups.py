"""Group search for stores without a native one (qdrant-edge), and for the lexical and hybrid
rankings on any store: over-fetch, group, repeat.

Each round searches the points of groups not seen yet (the seen values excluded by the filter),
over-fetching `GROUP_OVERFETCH` points per group still wanted, and keeps the first point of each
new value: in a ranked list the first point of a group is its best. A round's new groups all rank
below the groups of earlier rounds (every point of a later group scored below the last point an
earlier round returned), so the concatenation is the ranked list of groups. Every round that
returns a point finds at least one new group, so the search returns `limit` groups whenever that
many match, in at most `limit` rounds; in practice one (UDHR, 10 articles: one round of 40).

A point whose field is a list belongs to the group of each of its values, as on a Qdrant server,
and is the best of each group it leads. The filter that leaves the groups found out of a later
round leaves out a point with any of their values, so a group whose best point also belongs to a
group found in an earlier round gets its best point among the rest.

`groups_by_mean` ranks groups by the mean score of their best few points instead (a group found
by several translations above one found by a single point): one ranking, read deeper until the
groups it returns are certain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.store.base import Filter, GroupBest, Hit, PayloadValue, Vector
from app.store.fields import field_keys

# Points fetched per group still wanted in a round.
GROUP_OVERFETCH = 4
# The deepest `groups_by_mean` reads a ranking before it ranks the groups of what it has read.
MEAN_DEPTH_LIMIT = 4_096

Search = Callable[[Vector, int, Filter], list[Hit]]


def payload_value(payload: Mapping[str, Any], key: str) -> Any:
    """The value of a field (`metadata.article`: app/store/fields.py), or None where missing."""
    value: Any = payload
    for part in field_keys(key):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def group_values(payload: Mapping[str, Any], key: str) -> tuple[PayloadValue, ...]:
    """The point's groups under `key`, as Qdrant counts them: its value, or each distinct value of
    a list, where every one is a string or an integer (a bool, a float or a missing value, even one
    among a list's, puts the point in no group)."""
    value = payload_value(payload, key)
    values = value if isinstance(value, list) else [value]
    if not all(type(v) in (str, int) for v in values):  # bool is a subclass of int
        return ()
    return tuple(dict.fromkeys(values))


RankedSearch = Callable[[int, Filter], list[tuple[Hit, float]]]


def search_groups(
    search: Search, vector: Vector, group_by: str, limit: int, where: Filter | None = None
) -> list[GroupBest]:
    """The best hit of each of the `limit` best groups, best first, by repeated `search` calls."""

    def ranked(wanted: int, round_filter: Filter) -> list[tuple[Hit, float]]:
        return [(hit, hit.score) for hit in search(vector, wanted, round_filter)]

    return [group for group, _ in ranked_groups(ranked, group_by, limit, where)]


def ranked_groups(
    search: RankedSearch, group_by: str, limit: int, where: Filter | None = None
) -> list[tuple[GroupBest, float]]:
    """`search_groups` over any ranking (`search(wanted, filter)` gives (hit, score) pairs, best
    first: dense, lexical or hybrid), each group's best with the score its round gave it."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    base = where or Filter()
    best: dict[PayloadValue, tuple[GroupBest, float]] = {}
    while len(best) < limit:
        wanted = (limit - len(best)) * GROUP_OVERFETCH
        seen = list(best)
        round_filter = replace(
            base,
            present=(*base.present, group_by),
            none_of={**base.none_of, group_by: [*base.none_of.get(group_by, ()), *seen]}
            if seen
            else base.none_of,
        )
        found = search(wanted, round_filter)
        grouped = [(hit, score, group_values(hit.payload, group_by)) for hit, score in found]
        for hit, score, values in grouped:
            for value in values:
                if value not in best and len(best) < limit:
                    best[value] = (GroupBest(value, hit), score)
        if len(found) < wanted or not any(values for _, _, values in grouped):
            break  # every matching point was returned: no group is left
    return list(best.values())


@dataclass(frozen=True)
class RankedGroup:
    group: GroupBest  # the group's value and its best point
    best: float  # that point's score in the ranking
    score: float  # the group's: the mean of its best points' scores


def groups_by_mean(
    search: RankedSearch, group_by: str, limit: int, passages: int, where: Filter | None = None
) -> list[RankedGroup]:
    """The `limit` groups whose best `passages` points (all of them where a group has fewer)
    have the highest mean score, best first, over any ranking (`ranked_groups`' `search`).

    The ranking is read `limit x passages x GROUP_OVERFETCH` points deep, then four times as
    deep, until the last group returned has a mean no group it has not fully scored can exceed:
    one with fewer than `passages` points read scores at most their mean (its others rank below
    them), one with none at most the last point's score (a mean never exceeds its best). A
    ranking read to its end scores every group. Past `MEAN_DEPTH_LIMIT` points, each group is
    scored by the points read."""
    if limit < 1 or passages < 1:
        raise ValueError(f"limit and passages must be positive, got {limit} and {passages}")
    base = where or Filter()
    grouped = replace(base, present=(*base.present, group_by))
    wanted = limit * passages * GROUP_OVERFETCH
    while True:
        found = search(wanted, grouped)
        read_all = len(found) < wanted or wanted >= MEAN_DEPTH_LIMIT
        members: dict[PayloadValue, list[tuple[Hit, float]]] = {}
        for hit, score in found:
            for value in group_values(hit.payload, group_by):
                members.setdefault(value, []).append((hit, score))
        scored = [
            (
                RankedGroup(GroupBest(value, hits[0][0]), hits[0][1], _mean(hits[:passages])),
                read_all or len(hits) >= passages,
            )
            for value, hits in members.items()
        ]
        known = sorted((g for g, certain in scored if certain), key=lambda g: -g.score)
        if read_all:
            return known[:limit]
        bound = max([found[-1][1], *(g.score for g, certain in scored if not certain)])
        if len(known) >= limit and known[limit - 1].score >= bound:
            return known[:limit]
        wanted = min(wanted * 4, MEAN_DEPTH_LIMIT)


def _mean(hits: list[tuple[Hit, float]]) -> float:
    return sum(score for _, score in hits) / len(hits)
