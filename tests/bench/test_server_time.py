"""The server-side split of a search's time, read from the service's own metrics."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from app.metrics import Metrics
from bench.server_time import breakdown, parse


def _page(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_two_scrapes_split_the_searches_in_between() -> None:
    metrics = Metrics()
    metrics.request_seconds.labels("/v1/search", "POST").observe(0.5)  # before: not counted
    before = parse(_page(metrics))
    for _ in range(4):  # four searches of 20 ms, answered by two encoder calls of 2 queries
        metrics.request_seconds.labels("/v1/search", "POST").observe(0.020)
        metrics.search_seconds.observe(0.002)
    metrics.request_seconds.labels("/healthz", "GET").observe(1.0)  # another route: ignored
    metrics.encode_seconds.labels("passage").observe(1.0)  # passages: ignored
    for _ in range(2):
        metrics.encode_seconds.labels("query").observe(0.012)
        metrics.encode_batch_texts.labels("query").observe(2)
    split = breakdown(before, parse(_page(metrics)))
    assert split["server_ms"] == pytest.approx(20.0)
    assert split["encode_ms"] == pytest.approx(6.0)  # 24 ms of encoding over 4 searches
    assert split["vector_search_ms"] == pytest.approx(2.0)
    assert split["rest_ms"] == pytest.approx(12.0)
    assert split["encode_call_ms"] == pytest.approx(12.0)
    assert split["queries_per_encode_call"] == pytest.approx(2.0)


def test_no_searches_no_split() -> None:
    page = parse(_page(Metrics()))
    assert breakdown(page, page) == {}
