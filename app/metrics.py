"""Prometheus metrics: request and encode latency, kept in one registry per app."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.encode_queue import EncodeQueue, Priority

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
        self.queue_waiting = Gauge(
            "polysearch_encode_queue_waiting",
            "Encoder calls waiting for a slot now, by priority class.",
            ["priority"],
            registry=self.registry,
        )
        self.queue_running = Gauge(
            "polysearch_encode_queue_running",
            "Encoder calls holding a slot now.",
            registry=self.registry,
        )
        self.queue_wait_seconds = Histogram(
            "polysearch_encode_queue_wait_seconds",
            "Time an encoder call waited for its slot, by priority class.",
            ["priority"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_refused = Counter(
            "polysearch_encode_queue_refused_total",
            "Encoder calls answered 503 overloaded, by priority class and reason "
            "(full, estimate: the estimated wait exceeded the bound, deadline: it did).",
            ["priority", "reason"],
            registry=self.registry,
        )
        self.encode_settings = Gauge(
            "polysearch_encode_setting",
            "The encoder's thread and queue settings in force (encoder_threads per call, "
            "solo_query_threads, encode_slots, queue_capacity, max_queue_wait_seconds, "
            "aging_seconds, write_encode_texts, write_nice).",
            ["setting"],
            registry=self.registry,
        )
        self.background_documents = Gauge(
            "polysearch_background_index_documents",
            "Start-up indexing of a corpus: documents by state (total, read, indexed, "
            "unchanged, rejected).",
            ["state"],
            registry=self.registry,
        )
        self.background_running = Gauge(
            "polysearch_background_index_running",
            "1 while the start-up indexing of a corpus runs.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "polysearch_ready",
            "1 when the model and the store are loaded.",
            registry=self.registry,
        )

    # QueueObserver (app/encode_queue.py)
    def waited(self, priority: Priority, seconds: float) -> None:
        self.queue_wait_seconds.labels(priority.name.lower()).observe(seconds)

    def refused(self, priority: Priority, reason: str) -> None:
        self.queue_refused.labels(priority.name.lower(), reason).inc()

    def watch_queue(
        self, queue: EncodeQueue, encoder_threads: int, solo_threads: int, write_texts: int
    ) -> None:
        """Report `queue`'s depth and the settings it and the encoder run with."""
        for priority in Priority:
            self.queue_waiting.labels(priority.name.lower()).set_function(
                functools.partial(queue.waiting, priority)
            )
        self.queue_running.set_function(lambda: queue.running)
        for name, value in {
            "encoder_threads": encoder_threads,
            "solo_query_threads": solo_threads,
            "encode_slots": queue.concurrency,
            "queue_capacity": queue.capacity,
            "max_queue_wait_seconds": queue.wait_timeout_s,
            "aging_seconds": queue.aging_s,
            "write_encode_texts": write_texts,
            "write_nice": queue.write_nice,
        }.items():
            self.encode_settings.labels(name).set(value)
