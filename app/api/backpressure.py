"""Shed load at the door: when the encoder queue would refuse, answer 503 before any work.

The queue (app/encode_queue.py) already refuses a request that finds it full or whose
estimated wait exceeds `max_queue_wait_ms`, but only after
the request was parsed, validated and handed to a worker thread. Under a flood those rejected
requests compete for the CPU and the GIL with the encoder itself, and the service slows down
exactly when it needs all of it. This pure ASGI middleware checks the queue first, for the
routes that encode, and answers at once without reading the body. It also refuses when
`concurrency + queue size` encoding requests are already in (being parsed, queued, encoded or
answered), so that a crowd of clients cannot fill the worker threads.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from app.encode_queue import Priority
from app.runtime import Runtime

ENCODING_ROUTES = ("/v1/search", "/v1/embed", "/v1/embeddings")


def _encodes(scope: Scope) -> Priority | None:
    """The priority the route's encoder calls queue at, or None for a route that does not
    encode."""
    path: str = scope.get("path", "")
    if scope.get("method") != "POST":
        return None
    if path in ENCODING_ROUTES:
        return Priority.QUERY
    if path.startswith("/v1/collections/") and path.endswith("/documents"):
        return Priority.WRITE
    return None


class ShedLoad:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.in_flight = 0  # encoding requests let in and not yet answered (one event loop)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.runtime.service
        priority = _encodes(scope) if scope["type"] == "http" else None
        if service is None or priority is None:
            await self.app(scope, receive, send)
            return
        queue = service.encode_queue
        # Requests past the door but not yet (or no longer) in the queue count too: parsing,
        # validation and answering them take the CPU and the GIL from the encoder.
        crowded = self.in_flight >= queue.concurrency + queue.capacity
        if not crowded and not queue.would_refuse(priority):
            self.in_flight += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.in_flight -= 1
            return
        queue.observer.refused(priority, "door")
        message = (
            f"the encoder is busy: a request would wait more than "
            f"{queue.wait_timeout_s * 1000:.0f} ms for it"
        )
        body = json.dumps({"error": {"code": "overloaded", "message": message}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(queue.retry_after_s()).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
