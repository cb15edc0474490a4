"""The encoder's scheduler: bounded, prioritised waiting for an encoder slot.

The encoder is CPU-bound: running more calls at once than it has cores only makes each slower,
and letting callers pile up without bound turns a burst into minutes of latency and memory.
`EncodeQueue.run` lets `concurrency` jobs run; the others wait in priority order:

- `Priority.QUERY`: searches and `/v1/embed(dings)`, first;
- `Priority.WRITE`: document upserts, cut into small encoder calls (`Settings.write_encode_texts`)
  that queue one at a time, so a long upsert yields the encoder to queries between its calls;
- `Priority.BACKGROUND`: the start-up indexing of a corpus, when nothing else waits; while
  queries come it leaves them a slot (with more than one), however many calls it has waiting,
  and a call of it that runs lends its slot to a waiting query between two model calls
  (`lend_to_queries`), so a query does not wait for the rest of a long call.

Aging keeps lower classes moving: a job's class rises by one for every `aging_s` it has waited,
so under a steady stream of queries a write still gets a slot within about `aging_s`.

Admission control bounds the wait (`wait_timeout_s`, from `Settings.max_queue_wait_ms`): a job
whose estimated wait (the measured durations of the jobs ahead of it, per slot) exceeds the bound,
or that finds `concurrency + capacity` jobs already in, is refused at once with `OverloadedError`
(503 `overloaded` with `Retry-After`); one that still waits past the bound is refused then, so
no admitted job waits longer than the bound. Background jobs, and a write's calls after its
first, are never refused: they wait, aging, until a slot is free.
With `reserved_for_queries` (`Settings.query_reserved_slots`), writes and background calls
leave that many slots to queries for as long as queries keep coming, so a query finds a slot
free instead of waiting for a write's call to end.
`app/encode_combiner.py` batches concurrent queries behind the same admission and slots.

A solo query: a call of one query text (combined or not) that finds the encoder idle, when no
job has arrived to find it busy for `QUIET_S`, takes every slot (`slot(whole_if_idle=True)`,
`run(solo=...)`) and runs on all the cores (`Settings.solo_query_threads`), as nothing runs
beside it; jobs arriving meanwhile wait for it (a few ms). Under concurrent load jobs keep
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

from app.settings import Settings

T = TypeVar("T")
# How long after the last query the slots reserved for queries stay reserved.
QUERY_RECENT_S = 1.0
# How long no job may have found the encoder busy before a query alone takes every slot.
QUIET_S = 1.0


class Priority(IntEnum):
    QUERY = 0
    WRITE = 1
    BACKGROUND = 2


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
        reserved_for_queries: int = 0,
    ) -> None:
        if concurrency < 1 or capacity < 0 or wait_timeout_s <= 0 or aging_s <= 0:
            raise ValueError(
                "concurrency ≥ 1, capacity ≥ 0 and a positive timeout and aging are needed"
            )
        self.concurrency = concurrency
        self.capacity = capacity
        self.wait_timeout_s = wait_timeout_s
        self.aging_s = aging_s
        # Slots writes and background calls leave to queries while queries come (one seen in
        # the last `QUERY_RECENT_S`), so a query need not wait for a write's call to end.
        self.reserved_for_queries = min(reserved_for_queries, concurrency - 1)
        self._last_query = float("-inf")
        self._last_busy_arrival = float("-inf")  # a job arrived to find others in (QUIET_S)
        self.observer: QueueObserver = observer or _NoObserver()
        self._clock = clock
        self._cond = threading.Condition()  # guards everything below; notified on any change
        self._running: dict[Priority, int] = dict.fromkeys(Priority, 0)
        self._waiting: list[_Ticket] = []
        self._admitted = 0  # bounded callers running or waiting (see `admitted`)
        self._seq = itertools.count()
        self._durations = _Durations()
        self._lent = threading.local()  # seconds the job running in this thread lent its slot

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
            reserved_for_queries=settings.query_reserved_slots,
        )

    @property
    def depth(self) -> int:
        """Bounded callers running or waiting now."""
        return self._admitted

    @property
    def running(self) -> int:
        return sum(self._running.values())

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

    def _may_start(self, ticket: _Ticket, now: float) -> bool:
        """A free slot may go to `ticket`: a query (by rank), or any job while the slots
        reserved for queries stay free or no query came lately. Background jobs always leave
        one slot to queries while queries come, so that a background job running several
        calls at once (the start-up indexing) takes the idle cores, not a query's slot."""
        if self._rank(ticket, now) == Priority.QUERY:
            return True
        others = self.running - self._running[Priority.QUERY]
        reserved = 0
        if now - self._last_query < QUERY_RECENT_S:
            reserved = self.reserved_for_queries
            if ticket.priority is Priority.BACKGROUND:
                reserved = max(reserved, min(1, self.concurrency - 1))
        return others < self.concurrency - reserved

    def _first(self, now: float) -> _Ticket | None:
        """The waiting job that gets the next free slot."""
        eligible = [t for t in self._waiting if self._may_start(t, now)]
        return min(eligible, key=lambda t: self._key(t, now), default=None)

    def estimated_wait_s(self, priority: Priority = Priority.QUERY) -> float:
        """How long a job of `priority` arriving now would wait, by the queue's estimate."""
        with self._cond:
            return self._estimate(priority, self._clock())

    def _estimate(self, priority: Priority, now: float) -> float:
        ahead = [t for t in self._waiting if self._rank(t, now) <= priority]
        if self.running < self.concurrency and not ahead:
            return 0.0
        seconds = self._durations.seconds
        queued = sum(seconds[t.priority] for t in ahead)
        # A background job lends its slot to a waiting query at its next model call
        # (`lend_to_queries`), so it keeps a query waiting tens of ms, not the rest of its job.
        lending = Priority.BACKGROUND if priority is Priority.QUERY else None
        counted = {p: n for p, n in self._running.items() if p is not lending}
        in_flight = sum(seconds[p] * n for p, n in counted.items()) / 2
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

    def lend_to_queries(self, priority: Priority) -> None:
        """Called by a job that holds one slot at `priority`, between two of its model calls: if
        a query waits for a slot, it gets this one, and the job waits (unbounded, as its class
        does) for a slot again. A long background call thus keeps a query waiting for one model
        call at most, not for the whole call. The time until it has a slot again is left out of
        the call's measured duration (the estimate of how long such a call holds a slot)."""
        with self._cond:
            now = self._clock()
            if not any(self._rank(t, now) == Priority.QUERY for t in self._waiting):
                return
            self._running[priority] -= 1
            self._cond.notify_all()
        lent_at = time.perf_counter()
        self._acquire(lambda: False, priority, bounded=False, whole_if_idle=False)
        self._lent.seconds = self.lent_s() + time.perf_counter() - lent_at

    def lent_s(self) -> float:
        """Seconds the job running in the calling thread has lent its slot so far."""
        seconds: float = getattr(self._lent, "seconds", 0.0)
        return seconds

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
            if priority is Priority.QUERY:
                self._last_query = now
            self._waiting.append(ticket)
            try:
                while True:
                    if unless():
                        return 0
                    now = self._clock()
                    if self.running < self.concurrency and self._first(now) is ticket:
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
        comes. `solo`: the same work on every core, run instead when the job finds the encoder
        idle and quiet and so holds every slot (a solo query, see the module)."""
        with ExitStack() as turn:
            if bounded:
                turn.enter_context(self.admitted(priority))
            slot = self.slot(priority=priority, bounded=bounded, whole_if_idle=solo is not None)
            held = turn.enter_context(slot)
            return self._timed(solo if solo is not None and held > 1 else job, priority)

    def _timed(self, job: Callable[[], T], priority: Priority) -> T:
        """Run `job` and feed its duration into the estimates, less the time it lent its slot
        to queries (`lend_to_queries`): that was the queries' encoder time, not its own."""
        self._lent.seconds = 0.0
        start = time.perf_counter()
        result = job()
        self.observe(time.perf_counter() - start - self.lent_s(), priority)
        return result
