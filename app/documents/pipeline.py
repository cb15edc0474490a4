"""Running the writer's three stages at once: prepare → encode → write, with bounded queues.

Reading, validating, chunking and term-splitting a batch (the prepare stage), encoding it, and
upserting it (the write stage) use different resources: the first and last are mostly Python
and the store, the middle one onnxruntime, which releases the GIL. Run one after another, the
encoder idles while a batch is read and written; run as a pipeline, it encodes batch n while
batch n+1 is prepared and batch n-1 is written.

Items keep their order: one thread per stage. Queues hold at most `depth` items, so reading
never runs more than `depth` batches ahead (memory stays bounded). The first error raised in
any stage stops every stage and is raised again, unchanged, from `run` (an `OverloadedError`
stays an `OverloadedError`); nothing after the failed item is written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Prepared = TypeVar("Prepared")
Encoded = TypeVar("Encoded")

POLL_S = 0.05  # how often a blocked stage looks whether another one failed


class _Done:
    """Put after a stage's last item."""


DONE = _Done()


class _StoppedError(Exception):
    """Another stage failed: leave quietly, its error is the one raised."""


class _Failure:
    """The first error raised in any stage; setting it stops them all."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def record(self, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self.stopped.set()


class _Channel(Generic[Prepared]):
    """A bounded queue whose blocking calls give up once a stage has failed."""

    def __init__(self, depth: int, failure: _Failure) -> None:
        self._queue: queue.Queue[Prepared | _Done] = queue.Queue(maxsize=depth)
        self._failure = failure

    def put(self, item: Prepared | _Done) -> None:
        while True:
            if self._failure.stopped.is_set():
                raise _StoppedError
            try:
                self._queue.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def get(self) -> Prepared | _Done:
        while True:
            if self._failure.stopped.is_set():
                raise _StoppedError
            try:
                return self._queue.get(timeout=POLL_S)
            except queue.Empty:
                continue


def run_pipeline(
    items: Iterable[Prepared],
    encode: Callable[[Prepared], Encoded],
    write: Callable[[Prepared, Encoded], None],
    depth: int = 2,
) -> None:
    """Iterate `items` (the prepare stage: the iterable does the work) in a thread of its own,
    `encode` each in the calling thread, and `write` each with its encoding in a third thread,
    in order. Returns once every item is written; raises the first stage's error otherwise
    (a KeyboardInterrupt in the caller stops the other stages too)."""
    if depth < 1:
        raise ValueError(f"depth must be positive, got {depth}")
    failure = _Failure()
    prepared: _Channel[Prepared] = _Channel(depth, failure)
    encoded: _Channel[tuple[Prepared, Encoded]] = _Channel(depth, failure)

    def read() -> None:
        try:
            for item in items:
                prepared.put(item)
            prepared.put(DONE)
        except _StoppedError:
            pass
        except BaseException as error:
            failure.record(error)

    def drain() -> None:
        try:
            while not isinstance(pair := encoded.get(), _Done):
                write(*pair)
        except _StoppedError:
            pass
        except BaseException as error:
            failure.record(error)

    threads = [
        threading.Thread(target=read, name="index-prepare", daemon=True),
        threading.Thread(target=drain, name="index-write", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        while not isinstance(item := prepared.get(), _Done):
            encoded.put((item, encode(item)))
        encoded.put(DONE)
        threads[1].join()  # every item written (or the writer failed)
    except _StoppedError:
        pass
    except BaseException as error:
        failure.record(error)
    finally:
        for thread in threads:  # a store call in flight ends before the caller closes the store
            thread.join()
    if failure.error is not None:
        raise failure.error
