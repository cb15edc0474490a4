"""The encode scheduler's ordering, aging and admission, deterministically: one slot held by a
job that waits for an event, waiters registered one by one, a fake clock for time."""

from __future__ import annotations

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
    """The one slot, held by a running job of `priority` until the yielded event is set."""
    release = threading.Event()
    thread = threading.Thread(target=queue.run, args=(release.wait, priority))
    thread.start()
    _until(lambda: queue.running == 1, "the holder never got the slot")
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


def test_queries_go_before_writes_before_background() -> None:
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60, aging_s=1, clock=clock)
    order: list[str] = []
    with held(queue):
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
    assert order == ["query-1", "query-2", "write-1", "write-2", "background"]


def test_a_write_that_waited_an_aging_step_goes_before_a_new_query() -> None:
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60, aging_s=1, clock=clock)
    order: list[str] = []
    with held(queue):
        threads = _queue_up(queue, [("background", Priority.BACKGROUND, False)], order)
        threads += _queue_up(queue, [("write", Priority.WRITE, True)], order)
        clock.now += 1.0  # the write is a query now, the background job a write
        threads += _queue_up(queue, [("query", Priority.QUERY, True)], order)
    _drain(threads)
    assert order == ["write", "query", "background"]


def test_background_rises_to_queries_after_two_aging_steps() -> None:
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60, aging_s=1, clock=clock)
    order: list[str] = []
    with held(queue):
        threads = _queue_up(queue, [("background", Priority.BACKGROUND, False)], order)
        clock.now += 1.5  # one step: level with writes, still after queries
        threads += _queue_up(
            queue, [("query-1", Priority.QUERY, True), ("write", Priority.WRITE, True)], order
        )
        clock.now += 0.5  # two steps for the background job: level with queries, and older
        threads += _queue_up(queue, [("query-2", Priority.QUERY, True)], order)
    _drain(threads)
    # query-1 (earlier) and the write (aged 0.5 s: still a write) keep their places.
    assert order == ["background", "query-1", "query-2", "write"]


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
        # Background jobs are never refused: they wait their turn.
        threads += _queue_up(queue, [("background", Priority.BACKGROUND, False)], order)
        release.set()
    _drain(threads)
    assert order == ["query-1", "query-2", "background"]


def test_writes_are_not_counted_ahead_of_a_query() -> None:
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=100, wait_timeout_s=0.1, clock=clock)
    order: list[str] = []
    with held(queue):
        threads = _queue_up(queue, [(f"write-{i}", Priority.WRITE, False) for i in range(5)], order)
        assert queue.estimated_wait_s(Priority.QUERY) == pytest.approx(0.05 / 2)
        assert queue.would_refuse(Priority.WRITE)  # five writes ahead of a sixth
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

    with held(queue) as release:
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
    _drain(threads)
    assert outcome == ["QUERY refused", "BACKGROUND ran"]
    assert recorder.refusals == [(Priority.QUERY, "deadline")]
    assert [p for p, _ in recorder.waits] == [Priority.QUERY, Priority.BACKGROUND]


def test_a_full_queue_refuses_bounded_jobs_only() -> None:
    queue = EncodeQueue(concurrency=1, capacity=1, wait_timeout_s=60, clock=FakeClock())
    order: list[str] = []
    with held(queue):
        threads = _queue_up(queue, [("query-1", Priority.QUERY, True)], order)
        assert queue.full
        with pytest.raises(OverloadedError):
            queue.run(lambda: order.append("query-2"))
        threads += _queue_up(queue, [("background", Priority.BACKGROUND, False)], order)
    _drain(threads)
    assert order == ["query-1", "background"]


def test_writes_leave_the_reserved_slot_to_queries_while_queries_come() -> None:
    clock = FakeClock()
    queue = EncodeQueue(
        concurrency=2, capacity=8, wait_timeout_s=60, aging_s=60, clock=clock,
        reserved_for_queries=1,
    )  # fmt: skip
    order: list[str] = []
    release = threading.Event()
    queue.run(lambda: order.append("query-0"))  # a query came: one slot is reserved now
    holder = threading.Thread(target=queue.run, args=(release.wait, Priority.WRITE, False))
    holder.start()
    _until(lambda: queue.running == 1, "the first write never ran")
    threads = _queue_up(queue, [("write", Priority.WRITE, False)], order)
    assert queue.running == 1  # a slot is free, but not for a write
    queue.run(lambda: order.append("query-1"))  # goes straight to the reserved slot
    assert order == ["query-0", "query-1"]
    assert queue.waiting() == 1  # the write still waits
    clock.now += 1.5  # no query for a while: the reserve lapses
    queue.wake()
    _until(lambda: order[-1] == "write", "the write never got the free slot")
    release.set()
    holder.join(10)
    _drain(threads)


def test_background_calls_leave_a_slot_to_queries_while_queries_come() -> None:
    """Two background calls may fill both slots when no query came lately; once queries come,
    the second waits (until it has aged into a query) and a query takes the free slot."""
    clock = FakeClock()
    queue = EncodeQueue(concurrency=2, capacity=8, wait_timeout_s=60, aging_s=1, clock=clock)
    order: list[str] = []
    release = threading.Event()
    first = threading.Thread(target=queue.run, args=(release.wait, Priority.BACKGROUND, False))
    first.start()
    _until(lambda: queue.running == 1, "the first background call never ran")
    queue.run(lambda: order.append("query-0"))  # a query came: background leaves it a slot
    threads = _queue_up(queue, [("background", Priority.BACKGROUND, False)], order)
    assert queue.running == 1  # a slot is free, but not for more background work
    queue.run(lambda: order.append("query-1"))
    assert order == ["query-0", "query-1"] and queue.waiting() == 1
    clock.now += 1.5  # no query for a while: background may use every slot again
    queue.wake()
    _until(lambda: order[-1:] == ["background"], "the background call never got the free slot")
    release.set()
    first.join(10)
    _drain(threads)


def test_without_queries_background_calls_use_every_slot() -> None:
    queue = EncodeQueue(concurrency=2, capacity=8, wait_timeout_s=60)
    release = threading.Event()
    threads = [
        threading.Thread(target=queue.run, args=(release.wait, Priority.BACKGROUND, False))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    _until(lambda: queue.running == 2, "background calls did not run side by side")
    release.set()
    _drain(threads)


def test_a_job_alone_on_a_quiet_encoder_takes_every_slot() -> None:
    """`whole_if_idle` (a solo query): every slot for a job that finds the encoder idle, unless
    a job found it busy less than `QUIET_S` ago; nothing starts beside it."""
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
        threads = _queue_up(queue, [("write", Priority.WRITE, False)], order)
        assert queue.running == 2 and order == []  # the write waits for the solo job
    _drain(threads)
    assert order == ["write"] and queue.running == 0


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


def test_a_background_call_lends_its_slot_to_a_query_between_its_model_calls() -> None:
    """A background call holds its slot for many model calls (32 demo passages: ~0.5 s on one
    core). A query arriving meanwhile is admitted (the running background work is not counted
    in its estimate) and gets the slot at the call's next model call, not at its end."""
    clock = FakeClock()
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=0.2, clock=clock)
    queue.observe(5.0, Priority.BACKGROUND)  # long background calls: 0.8 * 0.1 + 0.2 * 5 s
    order: list[str] = []
    first_model_call, second_model_call = threading.Event(), threading.Event()

    def background_call() -> None:
        first_model_call.wait(10)
        order.append("background model call 1")
        queue.lend_to_queries(Priority.BACKGROUND)
        second_model_call.wait(10)
        order.append("background model call 2")

    background = threading.Thread(
        target=queue.run, args=(background_call, Priority.BACKGROUND, False)
    )
    background.start()
    _until(lambda: queue.running == 1, "the background call never ran")
    assert not queue.would_refuse(Priority.QUERY)  # a write would wait for it, a query not
    assert queue.would_refuse(Priority.WRITE)
    query = threading.Thread(target=queue.run, args=(lambda: order.append("query"),))
    query.start()
    _until(lambda: queue.waiting(Priority.QUERY) == 1, "the query never queued")
    first_model_call.set()
    _until(lambda: order[-1:] == ["query"], "the query never got the lent slot")
    second_model_call.set()
    _drain([query, background])
    assert order == ["background model call 1", "query", "background model call 2"]
    assert queue.running == 0


def test_a_background_call_keeps_its_slot_when_no_query_waits() -> None:
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=0.2)
    seen: list[int] = []

    def background_call() -> None:
        queue.lend_to_queries(Priority.BACKGROUND)
        seen.append(queue.running)

    queue.run(background_call, Priority.BACKGROUND, bounded=False)
    assert seen == [1] and queue.running == 0


def test_the_time_a_background_call_lends_its_slot_is_not_counted_as_its_own() -> None:
    """A background call's measured duration feeds the estimate of how long a write waits
    behind one. The 0.3 s a query held the lent slot were the query's, not the call's: counted,
    the estimate grew with every search during an indexing."""
    queue = EncodeQueue(concurrency=1, capacity=8, wait_timeout_s=60)
    query_started = threading.Event()

    def query() -> None:
        query_started.set()
        time.sleep(0.3)

    def background_call() -> None:
        waiting_query = threading.Thread(target=queue.run, args=(query,))
        waiting_query.start()
        _until(lambda: queue.waiting(Priority.QUERY) == 1, "the query never queued")
        queue.lend_to_queries(Priority.BACKGROUND)
        assert query_started.is_set()
        waiting_query.join(10)

    queue.run(background_call, Priority.BACKGROUND, bounded=False)
    with held(queue, Priority.BACKGROUND):
        # One background call running, one slot: a write waits about half such a call. Its
        # own work took ~0 s, so the estimate stays near the prior 0.8 * 0.1 s / 2 = 0.04 s;
        # counting the lent 0.3 s would give (0.08 + 0.2 * 0.3) / 2 = 0.07 s.
        assert queue.estimated_wait_s(Priority.WRITE) < 0.05
