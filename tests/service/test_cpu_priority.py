"""Low-priority threads: their nice value on Linux, and a warning where it cannot be lowered."""

from __future__ import annotations

import logging
import os
import sys
import threading

import pytest

from app.cpu_priority import LowPriorityThreads, lower_this_thread


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_new_thread(job: object) -> object:
    """`job()` on a thread of its own (its nice value must not outlive it)."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(job()))  # type: ignore[operator]
    thread.start()
    thread.join(10)
    return out[0]


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_a_thread_lowers_its_own_priority_only_capped_at_19() -> None:
    mine = _nice()
    assert _in_new_thread(lambda: (lower_this_thread(4), _nice())) == (True, min(19, mine + 4))
    assert _in_new_thread(lambda: (lower_this_thread(40), _nice())) == (True, 19)
    assert _nice() == mine


def test_elsewhere_jobs_run_at_the_same_priority_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    threads = LowPriorityThreads(2, 19)
    with caplog.at_level(logging.WARNING, logger="app.cpu_priority"):
        squares = [threads.run(lambda n=n: n * n) for n in range(4)]  # type: ignore[misc]
    assert squares == [0, 1, 4, 9]
    threads.close()
    warnings = [r for r in caplog.records if "could not lower the CPU priority" in r.message]
    assert len(warnings) == 1


def test_it_needs_a_thread_and_a_positive_increment() -> None:
    with pytest.raises(ValueError):
        LowPriorityThreads(0, 19)
    with pytest.raises(ValueError):
        LowPriorityThreads(1, 0)
