"""Group search for stores without a native one (qdrant-edge): over-fetch, group, repeat.

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

# Points fetched per group still wanted in a round.
GROUP_OVERFETCH = 4

Search = Callable[[Vector, int, Filter], list[Hit]]


def payload_value(payload: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted path (`metadata.article`), or None where the path is missing."""
    value: Any = payload
    for part in key.split("."):
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


def search_groups(
    search: Search, vector: Vector, group_by: str, limit: int, where: Filter | None = None
) -> list[Hit]:
    """The best hit of each of the `limit` best groups, best first, by repeated `search` calls."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    base = where or Filter()
    best: dict[PayloadValue, Hit] = {}
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
        hits = search(vector, wanted, round_filter)
        for hit in hits:
            value = group_value(hit.payload, group_by)
            if value is not None and value not in best and len(best) < limit:
                best[value] = hit
        if len(hits) < wanted or all(group_value(h.payload, group_by) is None for h in hits):
            break  # every matching point was returned: no group is left
    return list(best.values())
