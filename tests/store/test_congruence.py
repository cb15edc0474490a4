"""The same random scenario on both backends must give the same answers (ids and scores)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.store.base import Filter, VectorStore
from tests.store.conftest import BACKENDS, open_backend
from tests.store.points import LANGUAGES, random_points

DIM = 48


def _play(store: VectorStore, seed: int) -> list[Any]:
    """Writes, rewrites and deletes at random, then records every read answer."""
    rng = np.random.default_rng(seed)
    points = random_points(rng, 400, DIM, docs=30)
    store.create_collection("docs", DIM)
    store.create_collection("other", 8)
    for start in range(0, len(points), 64):
        store.upsert("docs", points[start : start + 64])
    rewritten = [replace(p, payload={**p.payload, "doc_hash": "h2"}) for p in points[:60]]
    store.upsert("docs", rewritten)
    store.delete_where("docs", Filter(equals={"doc_id": "doc-4"}, not_equals={"doc_hash": "h2"}))
    store.delete("docs", [p.id for p in points[100:130]])
    store.delete_collection("other")

    filters = [
        None,
        Filter(equals={"language": "en"}),
        Filter(any_of={"language": list(LANGUAGES[2:5])}, not_equals={"doc_id": "doc-1"}),
        Filter(equals={"doc_hash": "h2"}, any_of={"doc_id": ["doc-0", "doc-2", "doc-9"]}),
        Filter(any_of={"metadata.article": [1, 4, 9]}, equals={"metadata.part": "p2"}),
    ]
    answers: list[Any] = [store.list_collections()]
    for where in filters:
        answers.append(store.count("docs", where))
        answers.append(store.find("docs", where or Filter()))
        for _ in range(3):
            query = rng.normal(size=DIM).astype(np.float32)
            hits = store.search("docs", query, limit=15, where=where)
            answers.append([(h.id, h.payload) for h in hits])
            answers.append(np.array([h.score for h in hits]))
            groups = store.search_groups("docs", query, "metadata.article", 6, where)
            answers.append([(g.value, g.hit.id, g.hit.payload) for g in groups])
            answers.append(np.array([g.hit.score for g in groups]))
        answers.append(store.facet("docs", "language", where))
    answers.append(store.facet("docs", "language"))
    answers.append(store.facet("docs", "doc_id"))
    answers.append(store.retrieve("docs", [p.id for p in points[90:140]]))
    return answers


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backends_give_the_same_answers(tmp_path: Path, seed: int) -> None:
    results = []
    for kind in BACKENDS:
        store = open_backend(kind, tmp_path / kind)
        results.append(_play(store, seed))
        store.close()
    edge, client = results
    assert len(edge) == len(client)
    for ours, theirs in zip(edge, client, strict=True):
        if isinstance(ours, np.ndarray):
            np.testing.assert_allclose(ours, theirs, atol=1e-4)
        else:
            assert ours == theirs
