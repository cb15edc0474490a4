"""A bounded queue in front of the encoder: past it, callers are refused at once.

The encoder is CPU-bound: running more calls at once than it has cores only makes each slower,
and letting callers pile up without bound turns a burst into minutes of latency and memory.
`EncodeQueue.run` lets `concurrency` jobs run, up to `capacity` more wait, each for at most
`wait_timeout_s`; anyone else gets `OverloadedError` at once, which the API answers with
503 `overloaded` and a `Retry-After`. `app/encode_combiner.py` batches concurrent queries
behind the same admission and slots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from app.settings import Settings

T = TypeVar("T")


class OverloadedError(RuntimeError):
    """The queue is full, or the wait for the encoder outlasted the timeout."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EncodeQueue:
    def __init__(self, concurrency: int = 1, capacity: int = 8, wait_timeout_s: float = 10.0):
        if concurrency < 1 or capacity < 0 or wait_timeout_s <= 0:
            raise ValueError("concurrency ≥ 1, capacity ≥ 0 and a positive timeout are needed")
        self.concurrency = concurrency
        self.capacity = capacity
        self.wait_timeout_s = wait_timeout_s
        self._slot_free = threading.Condition()  # guards `_running`; notified on release
        self._running = 0  # slots held
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._last_job_s = 0.05  # moving estimate of one job's duration, for Retry-After

    @classmethod
    def from_settings(cls, settings: Settings) -> EncodeQueue:
        return cls(settings.encode_calls, settings.encode_queue_size, settings.request_timeout_s)

    @property
    def depth(self) -> int:
        """Jobs running or waiting now."""
        return self._admitted

    @property
    def full(self) -> bool:
        """A caller arriving now would be refused."""
        return self._admitted >= self.concurrency + self.capacity

    def retry_after_s(self) -> int:
        """A client's fair wait: the time to drain a full queue, at least a second."""
        per_slot = (self.capacity + self.concurrency) / self.concurrency
        return max(1, round(per_slot * self._last_job_s))

    def observe(self, seconds: float) -> None:
        """Feed one encoder job's duration into the Retry-After estimate."""
        self._last_job_s = 0.8 * self._last_job_s + 0.2 * seconds

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Count the caller in (running or waiting), or refuse it at once when full."""
        with self._lock:
            if self.full:
                raise OverloadedError(
                    f"the encoder queue is full ({self.capacity} waiting)", self.retry_after_s()
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1

    @contextmanager
    def slot(self, unless: Callable[[], bool] = lambda: False) -> Iterator[bool]:
        """Hold one of the `concurrency` encoder slots (yields True), or stop waiting for one
        as soon as `unless()` holds (yields False; see `wake`). Refuses after
        `wait_timeout_s`."""
        held = self._acquire(unless)
        try:
            yield held
        finally:
            if held:
                with self._slot_free:
                    self._running -= 1
                    self._slot_free.notify_all()

    def wake(self) -> None:
        """Let waiters re-check their `unless` (it may hold now)."""
        with self._slot_free:
            self._slot_free.notify_all()

    def _acquire(self, unless: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + self.wait_timeout_s
        with self._slot_free:
            while True:
                if unless():
                    return False
                if self._running < self.concurrency:
                    self._running += 1
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise OverloadedError(
                        f"waited {self.wait_timeout_s:g} s for the encoder", self.retry_after_s()
                    )
                self._slot_free.wait(remaining)

    def run(self, job: Callable[[], T]) -> T:
        """Run `job` in a slot, once admitted."""
        with self.admitted(), self.slot():
            start = time.perf_counter()
            result = job()
            self.observe(time.perf_counter() - start)
            return result
