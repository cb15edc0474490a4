"""The encode scheduler's slots, ordering, aging and admission, deterministically: slots held by
jobs that wait for an event, waiters registered one by one, a fake clock for time."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.encode_queue import QUIET_S, EncodeQueue, OverloadedError, Priority


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.refusals: list[tuple[Priority, str]] = []
        self.waits: list[tuple[Priority, float]] = []

    def waited(self, priority: Priority, seconds: float) -> None:
        self.waits.append((priority, seconds))

    def refused(self, priority: Priority, reason: str) -> None:
        self.refusals.append((priority, reason))


def _until(condition: object, what: str) -> None:
    """Wait (for threads to reach a point, not for time to pass) until `condition()`."""
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


@contextmanager
def held(queue: EncodeQueue, priority: Priority = Priority.QUERY) -> Iterator[threading.Event]:
    """A slot, held by a running job of `priority` until the yielded event is set."""
    release = threading.Event()
    before = queue.running
    thread = threading.Thread(target=queue.run, args=(release.wait, priority))
    thread.start()
    _until(lambda: queue.running == before + 1, "the holder never got the slot")
    try:
        yield release
    finally:
        release.set()
        thread.join(10)


def _queue_up(
    queue: EncodeQueue, jobs: list[tuple[str, Priority, bool]], order: list[str]
) -> list[threading.Thread]:
    """Start each job in turn, each registered as a waiter before the next starts."""
    threads = []
    for name, priority, bounded in jobs:
        before = queue.waiting()
        thread = threading.Thread(
            target=queue.run, args=(lambda n=name: order.append(n), priority, bounded)
        )
        thread.start()
        _until(lambda b=before: queue.waiting() == b + 1, f"{name} never queued")
        threads.append(thread)
    return threads


def _drain(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


def test_queries_have_slots_of_their_own() -> None:
    """Writes and background calls filling their slots keep no query waiting, and a query
    filling its slots keeps no write waiting."""
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60, clock=FakeClock())
    with held(queue, Priority.WRITE):
        assert queue.estimated_wait_s(Priority.QUERY) == 0
        assert queue.run(lambda: queue.running) == 2  # beside the write
    with held(queue, Priority.QUERY):
        assert queue.estimated_wait_s(Priority.WRITE) == 0
        assert queue.run(lambda: queue.running, Priority.WRITE) == 2


def test_queries_go_in_order_and_writes_before_background() -> None:
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60, aging_s=1, clock=FakeClock())
    order: list[str] = []
    with held(queue, Priority.QUERY), held(queue, Priority.WRITE):
        threads = _queue_up(
            queue,
            [
                ("background", Priority.BACKGROUND, False),
                ("write-1", Priority.WRITE, True),
                ("query-1", Priority.QUERY, True),
                ("write-2", Priority.WRITE, False),
                ("query-2", Priority.QUERY, True),
            ],
            order,
        )
    _drain(threads)
    queries = [name for name in order if name.startswith("query")]
    others = [name for name in order if not name.startswith("query")]
    assert queries == ["query-1", "query-2"]
    assert others == ["write-1", "write-2", "background"]


def test_a_background_call_that_waited_an_aging_step_goes_before_a_new_write() -> None:
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60, aging_s=1, clock=clock)
    order: list[str] = []
    with held(queue, Priority.WRITE):
        threads = _queue_up(queue, [("background-1", Priority.BACKGROUND, False)], order)
        clock.now += 1.0  # a write now, and older than any write to come
        threads += _queue_up(
            queue,
            [("write", Priority.WRITE, True), ("background-2", Priority.BACKGROUND, False)],
            order,
        )
    _drain(threads)
    assert order == ["background-1", "write", "background-2"]


def test_a_wait_estimated_over_the_bound_is_refused_at_once() -> None:
    clock = FakeClock()
    recorder = Recorder()
    queue = EncodeQueue(
        concurrency=1, capacity=100, wait_timeout_s=0.1, clock=clock, observer=recorder
    )
    queue.observe(0.04, Priority.QUERY)  # estimate: 0.8 * 0.05 + 0.2 * 0.04 = 0.048 s a query
    order: list[str] = []
    with held(queue) as release:
        # In flight: half a query (0.024 s) + one waiting query: 0.072 s ≤ 0.1: admitted.
        threads = _queue_up(queue, [("query-1", Priority.QUERY, True)], order)
        assert not queue.would_refuse(Priority.QUERY)
        # In flight + two waiting: 0.12 s > 0.1: a third is refused, without waiting.
        threads += _queue_up(queue, [("query-2", Priority.QUERY, True)], order)
        assert queue.estimated_wait_s(Priority.QUERY) == pytest.approx(0.024 + 2 * 0.048)
        with pytest.raises(OverloadedError) as refused:
            queue.run(lambda: order.append("query-3"))
        assert refused.value.retry_after_s >= 1
        assert recorder.refusals == [(Priority.QUERY, "estimate")]
        # Background jobs are never refused, and queries keep none waiting.
        assert queue.run(lambda: "background", Priority.BACKGROUND, False) == "background"
        release.set()
    _drain(threads)
    assert order == ["query-1", "query-2"]


def test_writes_are_not_counted_ahead_of_a_query() -> None:
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=100, wait_timeout_s=0.1, clock=clock)
    order: list[str] = []
    with held(queue, Priority.WRITE):
        threads = _queue_up(queue, [(f"write-{i}", Priority.WRITE, False) for i in range(5)], order)
        assert queue.estimated_wait_s(Priority.QUERY) == 0
        # A sixth write: half the running one and five ahead, 0.55 s.
        assert queue.estimated_wait_s(Priority.WRITE) == pytest.approx(0.1 / 2 + 5 * 0.1)
        assert queue.would_refuse(Priority.WRITE)
        assert not queue.would_refuse(Priority.QUERY)
    _drain(threads)


def test_no_bounded_job_waits_past_the_bound() -> None:
    clock = FakeClock()
    recorder = Recorder()
    queue = EncodeQueue(
        concurrency=1, capacity=8, wait_timeout_s=0.2, aging_s=60, clock=clock, observer=recorder
    )
    outcome: list[str] = []

    def waiter(priority: Priority, bounded: bool) -> None:
        try:
            queue.run(lambda: outcome.append(f"{priority.name} ran"), priority, bounded)
        except OverloadedError:
            outcome.append(f"{priority.name} refused")

    with held(queue, Priority.QUERY) as release, held(queue, Priority.WRITE) as release_write:
        threads = []
        for priority, bounded in ((Priority.QUERY, True), (Priority.BACKGROUND, False)):
            before = queue.waiting()
            threads.append(threading.Thread(target=waiter, args=(priority, bounded)))
            threads[-1].start()
            _until(lambda b=before: queue.waiting() == b + 1, "never queued")
        clock.now += 0.19
        queue.wake()
        assert outcome == []
        clock.now += 0.02  # past the bound: the query gives up, the background job waits on
        queue.wake()
        _until(lambda: outcome == ["QUERY refused"], "the query waited past its bound")
        assert queue.waiting() == 1
        release.set()
        release_write.set()
    _drain(threads)
    assert outcome == ["QUERY refused", "BACKGROUND ran"]
    assert recorder.refusals == [(Priority.QUERY, "deadline")]
    # The two holders' waits, then the background job's; none for the refused query.
    assert [p for p, _ in recorder.waits] == [Priority.QUERY, Priority.WRITE, Priority.BACKGROUND]


def test_a_full_queue_refuses_bounded_jobs_only() -> None:
    queue = EncodeQueue(concurrency=1, capacity=1, wait_timeout_s=60, clock=FakeClock())
    order: list[str] = []
    with held(queue):
        threads = _queue_up(queue, [("query-1", Priority.QUERY, True)], order)
        assert queue.full
        with pytest.raises(OverloadedError):
            queue.run(lambda: order.append("query-2"))
        assert queue.run(lambda: "background", Priority.BACKGROUND, False) == "background"
    _drain(threads)
    assert order == ["query-1"]


def test_background_calls_use_every_slot_of_theirs_while_queries_come() -> None:
    queue = EncodeQueue(concurrency=2, capacity=8, wait_timeout_s=60)
    release = threading.Event()
    threads = [
        threading.Thread(target=queue.run, args=(release.wait, Priority.BACKGROUND, False))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    _until(lambda: queue.running == 2, "background calls did not run side by side")
    assert queue.run(lambda: queue.running) == 3  # a query beside them
    release.set()
    _drain(threads)


def test_a_job_alone_on_a_quiet_encoder_takes_every_slot() -> None:
    """`whole_if_idle` (a solo query): every query slot for a job that finds the encoder idle,
    unless a job found it busy less than `QUIET_S` ago; no query starts beside it (a write may,
    at its lower CPU priority)."""
    clock = FakeClock()
    queue = EncodeQueue(concurrency=2, capacity=8, wait_timeout_s=60, clock=clock)
    with queue.slot(whole_if_idle=True) as got:
        assert got == 2 and queue.running == 2
    assert queue.running == 0
    with held(queue), queue.slot(whole_if_idle=True) as got:
        assert got == 1  # it came to a busy encoder: one slot, beside the other job
    with queue.slot(whole_if_idle=True) as got:
        assert got == 1  # idle now, but not quiet: a job found it busy just now
    clock.now += QUIET_S
    order: list[str] = []
    with queue.slot(whole_if_idle=True) as got:
        assert got == 2
        threads = _queue_up(queue, [("query", Priority.QUERY, True)], order)
        assert queue.running == 2 and order == []  # the query waits for the solo job
        assert queue.run(lambda: queue.running, Priority.WRITE) == 3
    _drain(threads)
    assert order == ["query"] and queue.running == 0


def test_run_takes_the_solo_job_only_when_it_holds_every_slot() -> None:
    """`run(job, solo=...)`: the solo variant when the job finds the encoder idle and quiet,
    the plain job beside a busy encoder; no `solo`, never all the slots."""
    clock = FakeClock()
    queue = EncodeQueue(concurrency=2, capacity=8, wait_timeout_s=60, clock=clock)
    assert queue.run(lambda: "one core", solo=lambda: "every core") == "every core"
    with held(queue):
        assert queue.run(lambda: "one core", solo=lambda: "every core") == "one core"
    clock.now += QUIET_S
    assert queue.run(lambda: queue.running) == 1
    assert queue.run(lambda: queue.running, solo=lambda: queue.running) == 2
    assert queue.run(lambda: "unbounded", Priority.BACKGROUND, False, lambda: "solo") == "solo"


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_writes_and_background_run_at_a_lower_cpu_priority_than_queries() -> None:
    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    queue = EncodeQueue(concurrency=2, capacity=8, wait_timeout_s=60, write_nice=5)
    mine = nice()
    assert queue.run(nice) == mine
    assert queue.run(nice, Priority.WRITE) == min(19, mine + 5)
    assert queue.run(nice, Priority.BACKGROUND, bounded=False) == min(19, mine + 5)
    assert nice() == mine  # the caller's own thread keeps its priority
    with pytest.raises(ZeroDivisionError):  # a job's error reaches its caller
        queue.run(lambda: 1 // 0, Priority.WRITE)
    queue.close()
