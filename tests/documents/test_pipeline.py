"""The writer's pipeline on its own: order kept, read-ahead bounded, any stage's error raised
unchanged and the other stages stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from app.documents.pipeline import run_pipeline


class BoomError(RuntimeError):
    pass


def test_items_are_encoded_and_written_in_order() -> None:
    written: list[tuple[int, int]] = []
    run_pipeline(range(50), lambda i: i * i, lambda i, sq: written.append((i, sq)), depth=2)
    assert written == [(i, i * i) for i in range(50)]


def test_stages_overlap_and_reading_runs_at_most_depth_items_ahead() -> None:
    read: list[int] = []
    encoded: list[int] = []
    ahead: list[int] = []
    encode_threads: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(20):
            read.append(i)
            yield i

    def encode(i: int) -> int:
        encode_threads.add(threading.current_thread().name)
        ahead.append(len(read) - len(encoded))
        time.sleep(0.005)
        encoded.append(i)
        return i

    run_pipeline(items(), encode, lambda i, e: None, depth=2)
    assert encoded == list(range(20))
    assert encode_threads == {threading.current_thread().name}  # encodes in the caller
    # The item being encoded, up to `depth` queued, and one the reader holds while it waits.
    assert max(ahead) <= 2 + 2
    assert max(ahead) >= 2  # the reader did run ahead


@pytest.mark.parametrize("stage", ["read", "encode", "write"])
def test_an_error_in_any_stage_is_raised_and_stops_the_rest(stage: str) -> None:
    written: list[int] = []
    read: list[int] = []

    def items() -> Iterator[int]:
        for i in range(1000):
            if stage == "read" and i == 5:
                raise BoomError("read")
            read.append(i)
            yield i

    def encode(i: int) -> int:
        if stage == "encode" and i == 5:
            raise BoomError("encode")
        return i

    def write(i: int, _: int) -> None:
        if stage == "write" and i == 5:
            raise BoomError("write")
        written.append(i)

    with pytest.raises(BoomError, match=stage):
        run_pipeline(items(), encode, write, depth=2)
    # Items are written in order and nothing from the failed item on (what was written before
    # it stays: a re-run skips it).
    assert written == list(range(len(written))) and len(written) <= 5
    assert len(read) < 20  # the reader stopped too, not read to the end
    assert not [t for t in threading.enumerate() if t.name.startswith("index-")]


def test_a_keyboard_interrupt_while_encoding_stops_the_threads() -> None:
    def encode(i: int) -> int:
        if i == 3:
            raise KeyboardInterrupt
        return i

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(range(1000), encode, lambda i, e: None)
    assert not [t for t in threading.enumerate() if t.name.startswith("index-")]
