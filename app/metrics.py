"""Prometheus metrics: request and encode latency, kept in one registry per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "polysearch_http_requests_total",
            "HTTP requests by route, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "polysearch_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.encode_seconds = Histogram(
            "polysearch_encode_duration_seconds",
            "Time spent in the encoder per call, by text kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.encoded_texts = Counter(
            "polysearch_encoded_texts_total",
            "Texts encoded, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.encode_batch_texts = Histogram(
            "polysearch_encode_batch_texts",
            "Texts per encoder call (concurrent requests share calls), by kind.",
            ["kind"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.search_seconds = Histogram(
            "polysearch_vector_search_duration_seconds",
            "Time spent in the vector store per search.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ready = Gauge(
            "polysearch_ready",
            "1 when the model and the store are loaded.",
            registry=self.registry,
        )
