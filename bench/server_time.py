"""Where a search's time goes on the server, from the service's own Prometheus metrics.

Scraped before and after a load phase; the difference, divided by the searches served, splits
the server's time per search into encoding (the encoder calls, shared between concurrent
queries) and the vector search, with what remains (parsing, validation, routing, the thread
hand-offs, JSON) as the rest. The client's latency minus the server's time is the HTTP path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

SEARCH_ROUTE = "/v1/search"
# (metric sample name, label that must match or None) -> key in the scrape
_WANTED: dict[str, tuple[str, tuple[str, str] | None]] = {
    "request_s": ("polysearch_http_request_duration_seconds_sum", ("route", SEARCH_ROUTE)),
    "requests": ("polysearch_http_request_duration_seconds_count", ("route", SEARCH_ROUTE)),
    "encode_s": ("polysearch_encode_duration_seconds_sum", ("kind", "query")),
    "encode_calls": ("polysearch_encode_duration_seconds_count", ("kind", "query")),
    "encoded_texts": ("polysearch_encode_batch_texts_sum", ("kind", "query")),
    "search_s": ("polysearch_vector_search_duration_seconds_sum", None),
    "searches": ("polysearch_vector_search_duration_seconds_count", None),
}


def parse(text: str) -> dict[str, float]:
    """The sums and counts above from a /metrics page (0 for those not yet observed)."""
    found = dict.fromkeys(_WANTED, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for key, (name, label) in _WANTED.items():
                labelled = label is None or sample.labels.get(label[0]) == label[1]
                if sample.name == name and labelled:
                    found[key] += sample.value
    return found


def scrape(base_url: str) -> dict[str, float]:
    response = httpx.get(f"{base_url}/metrics", timeout=10.0)
    response.raise_for_status()
    return parse(response.text)


def breakdown(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, Any]:
    """Per search served between the two scrapes, in milliseconds ({} without searches)."""
    delta = {key: after[key] - before[key] for key in _WANTED}
    searches = delta["requests"]
    if searches <= 0:
        return {}
    server_ms = 1000 * delta["request_s"] / searches
    encode_ms = 1000 * delta["encode_s"] / searches
    search_ms = 1000 * delta["search_s"] / searches
    calls = delta["encode_calls"]
    return {
        "server_ms": round(server_ms, 2),
        "encode_ms": round(encode_ms, 2),  # encoder time per search (a shared call split)
        "vector_search_ms": round(search_ms, 2),
        # waiting for the encoder's slot, parsing, validation, JSON, thread hand-offs
        "rest_ms": round(server_ms - encode_ms - search_ms, 2),
        "encode_call_ms": round(1000 * delta["encode_s"] / calls, 2) if calls else None,
        "queries_per_encode_call": round(delta["encoded_texts"] / calls, 2) if calls else None,
    }
