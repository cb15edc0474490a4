"""The encoder's scheduler: bounded, prioritised waiting for an encoder slot.

The encoder is CPU-bound: running more calls at once than it has cores only makes each slower,
and letting callers pile up without bound turns a burst into minutes of latency and memory.
Queries have `concurrency` slots of their own; writes and background indexing share another
`concurrency`, so a search never waits for a write's call to end:

- `Priority.QUERY`: searches and `/v1/embed(dings)`, in their own slots;
- `Priority.WRITE`: document upserts, cut into small encoder calls (`Settings.write_encode_texts`)
  that queue one at a time, so a long upsert leaves room to other writes between its calls;
- `Priority.BACKGROUND`: the start-up indexing of a corpus, when no write waits.

Both sets of slots stand for the same cores. Writes and background calls run on threads of a
lower CPU priority (`write_nice`, app/cpu_priority.py): while a query's call runs, the operating
system gives it the cores and the writes wait; between queries the writes have them all.

Aging keeps background indexing moving: a job's class rises by one for every `aging_s` it has
waited, so under a steady stream of writes a background call still gets a slot within about
`aging_s`.

Admission control bounds the wait (`wait_timeout_s`, from `Settings.max_queue_wait_ms`): a job
whose estimated wait (the measured durations of the jobs ahead of it, per slot) exceeds the bound,
or that finds `concurrency + capacity` jobs already in, is refused at once with `OverloadedError`
(503 `overloaded` with `Retry-After`); one that still waits past the bound is refused then, so
no admitted job waits longer than the bound. Background jobs, and a write's calls after its
first, are never refused: they wait, aging, until a slot is free.
`app/encode_combiner.py` batches concurrent queries behind the same admission and slots.

A solo query: a call of one query text (combined or not) that finds the encoder idle, when no
job has arrived to find it busy for `QUIET_S`, takes every query slot (`slot(whole_if_idle=True)`,
`run(solo=...)`) and runs on all the cores (`Settings.solo_query_threads`), as nothing runs
beside it; queries arriving meanwhile wait for it (a few ms). Under concurrent load jobs keep
finding the encoder busy, so calls run one slot each, side by side, which serves more queries on
the same cores.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, TypeVar

from app.cpu_priority import LowPriorityThreads
from app.settings import Settings

T = TypeVar("T")
# How long no job may have found the encoder busy before a query alone takes every slot.
QUIET_S = 1.0


class Priority(IntEnum):
    QUERY = 0
    WRITE = 1
    BACKGROUND = 2


def _shares_slots(a: Priority, b: Priority) -> bool:
    """Queries take the queries' slots; writes and background calls share the others."""
    return (a is Priority.QUERY) == (b is Priority.QUERY)


class OverloadedError(RuntimeError):
    """The queue is full, the wait would outlast the bound, or it did."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueObserver(Protocol):
    """Where the queue reports waits and refusals (the service's metrics)."""

    def waited(self, priority: Priority, seconds: float) -> None: ...

    def refused(self, priority: Priority, reason: str) -> None: ...


class _NoObserver:
    def waited(self, priority: Priority, seconds: float) -> None:
        pass

    def refused(self, priority: Priority, reason: str) -> None:
        pass


@dataclass(eq=False)
class _Ticket:
    priority: Priority
    seq: int
    arrived: float
    bounded: bool


@dataclass
class _Durations:
    """Moving estimate of one encoder call's duration, per priority class."""

    seconds: dict[Priority, float] = field(
        default_factory=lambda: {
            Priority.QUERY: 0.05,
            Priority.WRITE: 0.1,
            Priority.BACKGROUND: 0.1,
        }
    )

    def observe(self, priority: Priority, seconds: float) -> None:
        self.seconds[priority] = 0.8 * self.seconds[priority] + 0.2 * seconds


class EncodeQueue:
    def __init__(
        self,
        concurrency: int = 1,
        capacity: int = 8,
        wait_timeout_s: float = 10.0,
        aging_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        observer: QueueObserver | None = None,
        write_nice: int = 0,
    ) -> None:
        if concurrency < 1 or capacity < 0 or wait_timeout_s <= 0 or aging_s <= 0:
            raise ValueError(
                "concurrency ≥ 1, capacity ≥ 0 and a positive timeout and aging are needed"
            )
        self.concurrency = concurrency
        self.capacity = capacity
        self.wait_timeout_s = wait_timeout_s
        self.aging_s = aging_s
        # Nice levels below the service's at which write and background calls run (0: none).
        self.write_nice = write_nice
        self._low_priority = (
            LowPriorityThreads(concurrency, write_nice, "encode-write") if write_nice else None
        )
        self._last_busy_arrival = float("-inf")  # a job arrived to find others in (QUIET_S)
        self.observer: QueueObserver = observer or _NoObserver()
        self._clock = clock
        self._cond = threading.Condition()  # guards everything below; notified on any change
        self._running: dict[Priority, int] = dict.fromkeys(Priority, 0)
        self._waiting: list[_Ticket] = []
        self._admitted = 0  # bounded callers running or waiting (see `admitted`)
        self._seq = itertools.count()
        self._durations = _Durations()

    @classmethod
    def from_settings(
        cls, settings: Settings, observer: QueueObserver | None = None
    ) -> EncodeQueue:
        bound = min(settings.request_timeout_s, settings.max_queue_wait_ms / 1000)
        return cls(
            settings.encode_calls,
            settings.encode_queue_size,
            bound,
            settings.queue_aging_ms / 1000,
            observer=observer,
            write_nice=settings.write_nice,
        )

    @property
    def depth(self) -> int:
        """Bounded callers running or waiting now."""
        return self._admitted

    @property
    def running(self) -> int:
        return sum(self._running.values())

    def _running_beside(self, priority: Priority) -> int:
        """Jobs running in the slots `priority` takes."""
        return sum(n for p, n in self._running.items() if _shares_slots(p, priority))

    def waiting(self, priority: Priority | None = None) -> int:
        """Jobs waiting for a slot now (of one class, or all)."""
        return sum(1 for t in self._waiting if priority is None or t.priority == priority)

    @property
    def full(self) -> bool:
        """A caller arriving now would be refused for lack of room."""
        return self._admitted >= self.concurrency + self.capacity

    def retry_after_s(self) -> int:
        """A client's fair wait: the time to drain a full queue, at least a second."""
        per_slot = (self.capacity + self.concurrency) / self.concurrency
        return max(1, round(per_slot * self._durations.seconds[Priority.QUERY]))

    def observe(self, seconds: float, priority: Priority = Priority.QUERY) -> None:
        """Feed one encoder call's duration into the wait and Retry-After estimates."""
        with self._cond:
            self._durations.observe(priority, seconds)

    def _rank(self, ticket: _Ticket, now: float) -> int:
        return max(0, ticket.priority - int((now - ticket.arrived) / self.aging_s))

    def _key(self, ticket: _Ticket, now: float) -> tuple[int, int]:
        return self._rank(ticket, now), ticket.seq

    def _first(self, priority: Priority, now: float) -> _Ticket | None:
        """The waiting job that gets the next slot freed among those `priority` takes."""
        rivals = [t for t in self._waiting if _shares_slots(t.priority, priority)]
        return min(rivals, key=lambda t: self._key(t, now), default=None)

    def estimated_wait_s(self, priority: Priority = Priority.QUERY) -> float:
        """How long a job of `priority` arriving now would wait, by the queue's estimate."""
        with self._cond:
            return self._estimate(priority, self._clock())

    def _estimate(self, priority: Priority, now: float) -> float:
        ahead = [
            t
            for t in self._waiting
            if _shares_slots(t.priority, priority) and self._rank(t, now) <= priority
        ]
        if self._running_beside(priority) < self.concurrency and not ahead:
            return 0.0
        seconds = self._durations.seconds
        queued = sum(seconds[t.priority] for t in ahead)
        in_flight = (
            sum(seconds[p] * n for p, n in self._running.items() if _shares_slots(p, priority)) / 2
        )
        return (queued + in_flight) / self.concurrency

    def would_refuse(self, priority: Priority = Priority.QUERY) -> bool:
        """A bounded job of `priority` arriving now would be refused at once."""
        return self.full or self.estimated_wait_s(priority) > self.wait_timeout_s

    def _refuse(self, priority: Priority, reason: str, message: str) -> OverloadedError:
        self.observer.refused(priority, reason)
        return OverloadedError(message, self.retry_after_s())

    @contextmanager
    def admitted(self, priority: Priority = Priority.QUERY) -> Iterator[None]:
        """Count a bounded caller in (running or waiting), or refuse it at once: when full, or
        when its estimated wait exceeds the bound."""
        with self._cond:
            if self.full:
                raise self._refuse(
                    priority, "full", f"the encoder queue is full ({self.capacity} waiting)"
                )
            estimate = self._estimate(priority, self._clock())
            if estimate > self.wait_timeout_s:
                raise self._refuse(
                    priority,
                    "estimate",
                    f"the encoder is busy: about {estimate * 1000:.0f} ms of wait, more than "
                    f"the {self.wait_timeout_s * 1000:.0f} ms allowed",
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._cond:
                self._admitted -= 1

    @contextmanager
    def slot(
        self,
        unless: Callable[[], bool] = lambda: False,
        priority: Priority = Priority.QUERY,
        bounded: bool = True,
        whole_if_idle: bool = False,
    ) -> Iterator[int]:
        """Hold one of the `concurrency` encoder slots (yields 1), or stop waiting for one as
        soon as `unless()` holds (yields 0; see `wake`). A bounded wait is refused after
        `wait_timeout_s`. `whole_if_idle`: take all the slots (yields `concurrency`) if the
        encoder is idle and has been quiet for `QUIET_S` (a solo query, see the module)."""
        held = self._acquire(unless, priority, bounded, whole_if_idle)
        try:
            yield held
        finally:
            if held:
                with self._cond:
                    self._running[priority] -= held
                    self._cond.notify_all()

    def wake(self) -> None:
        """Let waiters re-check their `unless` (it may hold now) and their deadlines."""
        with self._cond:
            self._cond.notify_all()

    def _acquire(
        self, unless: Callable[[], bool], priority: Priority, bounded: bool, whole_if_idle: bool
    ) -> int:
        with self._cond:
            now = self._clock()
            ticket = _Ticket(priority, next(self._seq), now, bounded)
            if self.running or self._waiting:
                self._last_busy_arrival = now
            self._waiting.append(ticket)
            try:
                while True:
                    if unless():
                        return 0
                    now = self._clock()
                    mine = self._running_beside(priority) < self.concurrency
                    if mine and self._first(priority, now) is ticket:
                        held = self.concurrency if whole_if_idle and self._quiet(now) else 1
                        self._running[priority] += held
                        self.observer.waited(priority, now - ticket.arrived)
                        return held
                    remaining = ticket.arrived + self.wait_timeout_s - now
                    if bounded and remaining <= 0:
                        raise self._refuse(
                            priority,
                            "deadline",
                            f"waited {self.wait_timeout_s * 1000:.0f} ms for the encoder",
                        )
                    # Ranks change with time (aging): look again at least every aging step.
                    step = min(remaining, self.aging_s) if bounded else self.aging_s
                    self._cond.wait(step)
            finally:
                self._waiting.remove(ticket)
                self._cond.notify_all()  # the head of the queue may have changed

    def _quiet(self, now: float) -> bool:
        """Nothing runs, nobody else waits, and no job found the encoder busy in `QUIET_S`."""
        return (
            self.running == 0
            and len(self._waiting) == 1
            and now - self._last_busy_arrival >= QUIET_S
        )

    def run(
        self,
        job: Callable[[], T],
        priority: Priority = Priority.QUERY,
        bounded: bool = True,
        solo: Callable[[], T] | None = None,
    ) -> T:
        """Run `job` in a slot: a bounded job once admitted, an unbounded one whenever its turn
        comes; a write or background job on the low-priority threads (`write_nice`). `solo`:
        the same work on every core, run instead when the job finds the encoder idle and quiet
        and so holds every slot (a solo query, see the module)."""
        with ExitStack() as turn:
            if bounded:
                turn.enter_context(self.admitted(priority))
            slot = self.slot(priority=priority, bounded=bounded, whole_if_idle=solo is not None)
            held = turn.enter_context(slot)
            chosen = solo if solo is not None and held > 1 else job
            start = time.perf_counter()
            if priority is Priority.QUERY or self._low_priority is None:
                result = chosen()
            else:
                result = self._low_priority.run(chosen)
            self.observe(time.perf_counter() - start, priority)
            return result

    def close(self) -> None:
        """Let the low-priority threads go (jobs running finish first)."""
        if self._low_priority is not None:
            self._low_priority.close()
