"""Dynamic batching: requests that wait behind a busy encoder share its next call, each gets
exactly its own rows, one bad request fails alone, and the queue's limits still hold."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.encode_combiner import EncodeCombiner
from app.encode_queue import EncodeQueue, OverloadedError
from app.encoder import Embeddings, OnnxEncoder, TextKind
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings


class GatedEncoder:
    """A fake encoder whose first call blocks until released; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], TextKind]] = []
        self.solo: list[bool] = []  # per call: whether it held every slot
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        self.calls.append((list(texts), kind))
        self.solo.append(solo)
        if len(self.calls) == 1:
            self.started.set()
            self.release.wait(10)
        if "bad" in texts:
            raise ValueError("bad text")
        return np.array([vector_of(t, kind) for t in texts], dtype=np.float32)


def vector_of(text: str, kind: TextKind) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text))), 1.0 if kind == "query" else 2.0]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def behind_a_busy_encoder(
    combiner: EncodeCombiner,
    fake: GatedEncoder,
    requests: list[tuple[list[str], TextKind]],
) -> list[Future[Embeddings]]:
    """Submit `requests` while a first call holds the encoder, then let it go."""
    pool = ThreadPoolExecutor(len(requests) + 1)
    first = pool.submit(combiner.encode, ["first"], "query")
    assert fake.started.wait(5)
    futures = [pool.submit(combiner.encode, texts, kind) for texts, kind in requests]
    wait_until(lambda: combiner.waiting == len(requests))
    fake.release.set()
    first.result(10)
    pool.shutdown(wait=True)
    return futures


def test_waiting_requests_share_one_call_and_get_their_own_rows() -> None:
    fake = GatedEncoder()
    combiner = EncodeCombiner(EncodeQueue(capacity=16), fake)
    requests: list[tuple[list[str], TextKind]] = [
        ([f"query {i}" * (i + 1)], "query") for i in range(6)
    ]
    requests.append((["two texts", "in one request"], "query"))
    futures = behind_a_busy_encoder(combiner, fake, requests)
    assert len(fake.calls) == 2  # the first, then everybody who waited behind it
    assert sorted(fake.calls[1][0]) == sorted(t for texts, _ in requests for t in texts)
    for (texts, kind), future in zip(requests, futures, strict=True):
        expected = np.array([vector_of(t, kind) for t in texts], dtype=np.float32)
        np.testing.assert_array_equal(future.result(), expected)
    assert combiner.waiting == 0
    assert combiner.queue.depth == 0


def test_only_a_query_alone_on_a_quiet_encoder_runs_solo() -> None:
    """The first query finds two idle slots and takes both (a solo call, on all the cores);
    those that come while it runs wait, then share one call on one slot."""
    fake = GatedEncoder()
    combiner = EncodeCombiner(EncodeQueue(concurrency=2, capacity=16), fake)
    behind_a_busy_encoder(combiner, fake, [(["second"], "query"), (["third"], "query")])
    assert [texts for texts, _ in fake.calls] == [["first"], ["second", "third"]]
    assert fake.solo == [True, False]
    assert combiner.queue.running == 0


@pytest.mark.parametrize(("texts", "kind"), [(["one", "two"], "query"), (["a passage"], "passage")])
def test_a_request_of_several_texts_or_passages_never_runs_solo(
    texts: list[str], kind: TextKind
) -> None:
    """Only a single query may hold every slot: a long /v1/embed call must leave a slot free
    for the queries that come meanwhile."""
    fake = GatedEncoder()
    fake.release.set()
    combiner = EncodeCombiner(EncodeQueue(concurrency=2, capacity=16), fake)
    combiner.encode(texts, kind)
    combiner.encode(["a query"], "query")
    assert fake.solo == [False, True]


def test_without_combining_only_a_lone_query_runs_solo() -> None:
    """With requests not combined (`POLYSEARCH_COMBINE_REQUESTS=off`) the same rule holds: a
    request of one query text that finds the encoder idle runs on every slot, others on one."""
    fake = GatedEncoder()
    fake.release.set()
    encoder = SimpleNamespace(encode=fake, tokenizer=None)
    queue = EncodeQueue(concurrency=2, capacity=16)
    service = SearchService(encoder, None, Metrics(), queue, combine_max_texts=None)  # type: ignore[arg-type]
    assert service.combiner is None
    service.embed(["a query"], "query")
    service.embed(["one", "two"], "query")
    service.embed(["a passage"], "passage")
    assert fake.solo == [True, False, False]


def test_kinds_are_never_mixed_and_max_texts_holds() -> None:
    fake = GatedEncoder()
    combiner = EncodeCombiner(EncodeQueue(capacity=16), fake, max_texts=3)
    requests: list[tuple[list[str], TextKind]] = [
        (["q1"], "query"),
        (["p1"], "passage"),
        (["q2"], "query"),
        (["q3"], "query"),
        (["q4"], "query"),
        (["p2"], "passage"),
    ]
    futures = behind_a_busy_encoder(combiner, fake, requests)
    for (texts, kind), future in zip(requests, futures, strict=True):
        assert future.result()[0].tolist() == vector_of(texts[0], kind)
    later = fake.calls[1:]
    assert all(text[0] == kind[0] for texts, kind in later for text in texts)
    assert sorted(len(texts) for texts, _ in later) == [1, 2, 3]  # queries 3 + 1, passages 2


def test_a_bad_request_fails_alone() -> None:
    fake = GatedEncoder()
    combiner = EncodeCombiner(EncodeQueue(capacity=16), fake)
    requests: list[tuple[list[str], TextKind]] = [(["good one"], "query"), (["bad"], "query")]
    requests.append((["good two"], "query"))
    good_one, bad, good_two = behind_a_busy_encoder(combiner, fake, requests)
    with pytest.raises(ValueError, match="bad text"):
        bad.result()
    assert good_one.result()[0].tolist() == vector_of("good one", "query")
    assert good_two.result()[0].tolist() == vector_of("good two", "query")


def test_a_request_that_waits_too_long_is_refused_and_dropped() -> None:
    fake = GatedEncoder()
    combiner = EncodeCombiner(EncodeQueue(capacity=4, wait_timeout_s=0.2), fake)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(combiner.encode, ["first"], "query")
        assert fake.started.wait(5)
        with pytest.raises(OverloadedError, match="waited"):
            combiner.encode(["late"], "query")
        assert combiner.waiting == 0  # nothing left behind to be encoded for nobody
        fake.release.set()
        first.result(5)
    assert len(fake.calls) == 1


def test_a_full_queue_refuses_at_once() -> None:
    fake = GatedEncoder()
    queue = EncodeQueue(concurrency=1, capacity=1, wait_timeout_s=30)
    combiner = EncodeCombiner(queue, fake)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(combiner.encode, ["first"], "query")
        assert fake.started.wait(5)
        waiting = pool.submit(combiner.encode, ["waiting"], "query")
        wait_until(lambda: combiner.waiting == 1)
        with pytest.raises(OverloadedError, match="full"):
            combiner.encode(["refused"], "query")
        fake.release.set()
        first.result(5)
        assert waiting.result(5)[0].tolist() == vector_of("waiting", "query")
    assert queue.depth == 0


def test_combined_real_vectors_match_single_calls(model_dir: Path) -> None:
    encoder = OnnxEncoder(model_dir, "fp32")  # auto combining is on only for fp32
    queries = [
        "Wer hat das Recht auf Bildung?",
        "haki ya kupumzika",
        "¿Puedo salir de mi país?",
        "Everyone has the right to life, liberty and security of person.",
    ]
    combiner = EncodeCombiner(EncodeQueue(capacity=16), encoder.encode)
    with ThreadPoolExecutor(len(queries)) as pool:
        combined = list(pool.map(lambda q: combiner.encode([q], "query")[0], queries))
    for query, vector in zip(queries, combined, strict=True):
        alone = encoder.encode([query], "query")[0]
        assert float(vector @ alone) > 0.99999


@pytest.mark.parametrize(
    ("independent", "setting", "expected"),
    [(True, "auto", 64), (False, "auto", None), (False, "on", 64), (True, "off", None)],
)
def test_combining_is_on_only_where_vectors_ignore_the_batch(
    independent: bool, setting: str, expected: int | None
) -> None:
    settings = Settings.model_validate({"combine_requests": setting})
    assert settings.combined_batch_limit(independent) == expected


def test_a_waiter_leaves_the_slot_queue_once_its_condition_holds() -> None:
    queue = EncodeQueue(concurrency=1, capacity=4, wait_timeout_s=10.0)
    answered = threading.Event()
    outcome: list[int] = []

    def wait_for_slot() -> None:
        with queue.slot(unless=answered.is_set) as held:
            outcome.append(held)

    with queue.slot() as held:  # the slot stays busy throughout
        assert held
        waiter = threading.Thread(target=wait_for_slot)
        waiter.start()
        time.sleep(0.05)
        assert not outcome  # still waiting for the slot
        answered.set()
        queue.wake()
        waiter.join(timeout=2.0)  # long before the 10 s timeout
        assert outcome == [0]
    with queue.slot() as held:  # a waiter that gave up held nothing: the slot is free
        assert held
