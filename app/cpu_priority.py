"""Threads that run at a lower CPU priority than the rest of the service.

The encoder's writes and background indexing run here (app/encode_queue.py), so that when a
search's encoder call needs a core, the operating system hands it one at once instead of sharing
it evenly with the writers. Measured with `python -m bench.contention` on 2 cores: searches beside
two writers, p99 179.8 ms while they waited for the writers' slots and cores; with slots of their
own and the writers at nice 19, 61.2 ms (docs/operations.md).

Linux only: there a thread's nice value is its own (`setpriority` on its thread id). Elsewhere,
or where the system refuses, the threads keep the service's priority and one warning says so.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_NICE = 19


def lower_this_thread(increment: int) -> bool:
    """Raise the calling thread's nice value by `increment` (capped at 19), for good: an
    unprivileged thread may not lower it again. False where that cannot be done."""
    if sys.platform != "linux":
        return False  # elsewhere `setpriority(PRIO_PROCESS, id)` would renice the whole process
    thread = threading.get_native_id()
    try:
        nice = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, thread) + increment)
        os.setpriority(os.PRIO_PROCESS, thread, nice)
    except OSError:
        return False
    return True


class LowPriorityThreads:
    """Up to `threads` threads, each `increment` nice levels below the thread that made them,
    on which `run(job)` runs a job and waits for its result."""

    def __init__(self, threads: int, increment: int, name: str = "low-priority") -> None:
        if threads < 1 or increment < 1:
            raise ValueError("at least one thread and a positive nice increment are needed")
        self.name = name
        self.increment = increment
        self._warned = False
        self._warned_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(threads, name, initializer=self._lower)

    def _lower(self) -> None:
        if lower_this_thread(self.increment):
            return
        with self._warned_lock:
            warned, self._warned = self._warned, True
        if not warned:
            log.warning(
                "could not lower the CPU priority of the %s threads (%s): they share the "
                "cores evenly with the service's other work",
                self.name,
                sys.platform,
            )

    def run(self, job: Callable[[], T]) -> T:
        return self._pool.submit(job).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False)
