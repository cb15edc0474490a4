"""Concurrent encode requests share one encoder call (dynamic batching by flat combining).

While the encoder is busy, requests wait for its slot (app/encode_queue.py). Whoever gets the
slot next encodes every waiting request of its kind in one call, up to `max_texts` texts, and
hands each request its rows; the requests it took stop waiting for the slot at once and wait
for their rows instead. Nothing waits on a timer: a lone request goes straight through at no
cost, and batches grow exactly as fast as requests pile up behind a busy encoder. One call over
eight short queries costs little more than one call over one, so throughput under concurrency
rises several-fold.

A request of one query text (a search) that finds the encoder idle and quiet takes every slot
and runs on all the cores (a solo call, app/encode_queue.py); larger requests never do, so a
long /v1/embed call cannot hold the cores that a query arriving meanwhile would need.

Only for graphs whose vectors do not depend on the batch (`app.encoder.batch_independent`):
an int8 build with dynamic quantisation (before builder v3) picks its scale per call, so there
a query's vector would depend on its neighbours (`Settings.combine_requests`, auto).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.encode_queue import EncodeQueue, OverloadedError
from app.encoder import Embeddings, TextKind

# (texts, kind, solo): `solo` when the call holds every encoder slot (app/encode_queue.py).
EncodeFn = Callable[[Sequence[str], TextKind, bool], Embeddings]


def may_run_solo(texts: Sequence[str], kind: TextKind) -> bool:
    """Whether a request may take every encoder slot when it finds the encoder idle: one query
    text (a search), never a longer request that would hold the cores a query then needs."""
    return kind == "query" and len(texts) == 1


@dataclass(eq=False)
class _Request:
    texts: Sequence[str]
    kind: TextKind
    done: threading.Event = field(default_factory=threading.Event)
    taken: bool = False  # a leader has it (set under the combiner's lock)
    vectors: Embeddings | None = None
    error: BaseException | None = None

    def outcome(self) -> Embeddings:
        if self.error is not None:
            raise self.error
        assert self.vectors is not None
        return self.vectors


class EncodeCombiner:
    def __init__(self, queue: EncodeQueue, encode: EncodeFn, max_texts: int = 64) -> None:
        if max_texts < 1:
            raise ValueError("max_texts must be at least 1")
        self.queue = queue
        self.max_texts = max_texts
        self._encode = encode
        self._lock = threading.Lock()
        self._pending: list[_Request] = []

    @property
    def waiting(self) -> int:
        """Requests not yet taken into an encoder call."""
        return len(self._pending)

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        """Like `encode(texts, kind)`, sharing the call with whoever waits alongside."""
        request = _Request(texts, kind)
        with self.queue.admitted():
            with self._lock:
                self._pending.append(request)
            try:
                # Wait for the encoder's slot until a leader takes this request into its call.
                solo_ok = may_run_solo(texts, kind)
                with self.queue.slot(unless=lambda: request.taken, whole_if_idle=solo_ok) as held:
                    batch = self._take(request) if held else []
                    if batch:
                        self.queue.wake()  # those taken along stop waiting for a slot
                        self._run(batch, solo=held > 1)
            except OverloadedError:
                with self._lock:
                    if not request.taken:  # nobody will answer it: give up
                        self._pending.remove(request)
                        raise
            request.done.wait()  # set by whichever leader took it, error or not
        return request.outcome()

    def _take(self, leader: _Request) -> list[_Request]:
        """The leader's request and the oldest others of its kind that fit; [] if taken."""
        with self._lock:
            if leader.taken:
                return []
            batch, texts = [leader], len(leader.texts)
            for other in self._pending:
                if other is leader or other.kind != leader.kind:
                    continue
                if texts + len(other.texts) > self.max_texts:
                    break
                batch.append(other)
                texts += len(other.texts)
            for request in batch:
                request.taken = True
                self._pending.remove(request)
            return batch

    def _run(self, batch: list[_Request], solo: bool) -> None:
        try:
            self._answer(batch, solo)
        finally:  # whatever happened, nobody is left waiting
            for request in batch:
                if request.vectors is None and request.error is None:
                    request.error = RuntimeError("the encoder call was interrupted")
                request.done.set()

    def _answer(self, batch: list[_Request], solo: bool) -> None:
        start = time.perf_counter()
        try:
            vectors = self._encode([t for r in batch for t in r.texts], batch[0].kind, solo)
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
            else:  # one bad request must not fail its neighbours: answer each on its own
                for request in batch:
                    self._answer([request], solo)
            return
        self.queue.observe(time.perf_counter() - start)
        offset = 0
        for request in batch:
            request.vectors = vectors[offset : offset + len(request.texts)]
            offset += len(request.texts)
