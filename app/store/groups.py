"""Group search for stores without a native one (qdrant-edge), and for the lexical and hybrid
rankings on any store: over-fetch, group, repeat.

Each round searches the points of groups not seen yet (the seen values excluded by the filter),
over-fetching `GROUP_OVERFETCH` points per group still wanted, and keeps the first point of each
new value: in a ranked list the first point of a group is its best. A round's new groups all rank
below the groups of earlier rounds (every point of a later group scored below the last point an
earlier round returned), so the concatenation is the ranked list of groups. Every round that
returns a point finds at least one new group, so the search returns `limit` groups whenever that
many match, in at most `limit` rounds; in practice one (UDHR, 10 articles: one round of 40).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from app.store.base import Filter, Hit, PayloadValue, Vector
from app.store.fields import field_keys

# Points fetched per group still wanted in a round.
GROUP_OVERFETCH = 4

Search = Callable[[Vector, int, Filter], list[Hit]]


def payload_value(payload: Mapping[str, Any], key: str) -> Any:
    """The value of a field (`metadata.article`: app/store/fields.py), or None where missing."""
    value: Any = payload
    for part in field_keys(key):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def group_value(payload: Mapping[str, Any], key: str) -> PayloadValue | None:
    """The point's group under `key`: a string or an integer (not a bool, a float or a list, which
    group nothing), else None."""
    value = payload_value(payload, key)
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


RankedSearch = Callable[[int, Filter], list[tuple[Hit, float]]]


def search_groups(
    search: Search, vector: Vector, group_by: str, limit: int, where: Filter | None = None
) -> list[Hit]:
    """The best hit of each of the `limit` best groups, best first, by repeated `search` calls."""

    def ranked(wanted: int, round_filter: Filter) -> list[tuple[Hit, float]]:
        return [(hit, hit.score) for hit in search(vector, wanted, round_filter)]

    return [hit for hit, _ in ranked_groups(ranked, group_by, limit, where)]


def ranked_groups(
    search: RankedSearch, group_by: str, limit: int, where: Filter | None = None
) -> list[tuple[Hit, float]]:
    """`search_groups` over any ranking (`search(wanted, filter)` gives (hit, score) pairs, best
    first: dense, lexical or hybrid), each group's best with the score its round gave it."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    base = where or Filter()
    best: dict[PayloadValue, tuple[Hit, float]] = {}
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
        for hit, score in found:
            value = group_value(hit.payload, group_by)
            if value is not None and value not in best and len(best) < limit:
                best[value] = (hit, score)
        if len(found) < wanted or all(group_value(h.payload, group_by) is None for h, _ in found):
            break  # every matching point was returned: no group is left
    return list(best.values())
