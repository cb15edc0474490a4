"""The large corpus: ~154k real verses from registry packages, and the search index built from
it once (our store and the naive stack's holding the same points) and reused."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from qdrant_client import QdrantClient

from app.encoder import OnnxEncoder
from app.store.edge import QdrantEdgeStore
from bench.large_index import _fingerprint, ensure_large_index
from bench.verses import write_corpus
from tests.conftest import PACKAGE_CACHE


def test_verse_corpus_has_150k_passages_in_13_languages(tmp_path: Path) -> None:
    out = tmp_path / "verses.jsonl"
    counts = write_corpus(out, PACKAGE_CACHE)
    assert sum(counts.values()) >= 150_000
    assert set(counts) == {
        "ara", "ben", "eng", "fra", "ind", "jpn", "nya", "rus", "spa", "swe", "tur", "urd", "zho",
    }  # fmt: skip
    ids: Counter[str] = Counter()
    with out.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            assert record["text"].strip() and record["metadata"]["language_name"]
            ids[record["id"]] += 1
    assert ids.most_common(1)[0][1] == 1  # every id once
    assert "bible/web/43:3:16" in ids and "bible/chichewa/43:3:16" in ids  # whole Bibles
    assert not out.with_name(out.name + ".partial").exists()


def _corpus(path: Path, texts: list[str]) -> Path:
    rows = [{"id": f"d{i}", "text": t, "lang": "eng"} for i, t in enumerate(texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_large_index_mirrors_our_points_and_is_reused(tmp_path: Path, encoder: OnnxEncoder) -> None:
    texts = ["the right to rest", "freedom of movement", "education shall be free", "asylum"]
    corpus = _corpus(tmp_path / "corpus.jsonl", texts)
    built = ensure_large_index(corpus, encoder, tmp_path / "index", "bench")
    assert built.points == 4 and not built.reused and built.build_s > 0
    store = QdrantEdgeStore(built.ours)
    try:
        assert store.count("bench") == 4
    finally:
        store.close()
    client = QdrantClient(path=str(built.naive))
    try:
        query = encoder.encode(["may I leave my country?"], "query")[0]
        hits = client.query_points("bench", query=query.tolist(), limit=1).points
        assert client.count("bench").count == 4
        assert (hits[0].payload or {})["doc_id"] == "d1"
    finally:
        client.close()
    reused = ensure_large_index(corpus, encoder, tmp_path / "index", "bench")
    assert reused.reused and reused.points == 4 and reused.build_s == round(built.build_s, 1)
    changed = _corpus(corpus, [*texts, "work and leisure"])
    rebuilt = ensure_large_index(changed, encoder, tmp_path / "index", "bench")
    assert not rebuilt.reused and rebuilt.points == 5


@pytest.mark.parametrize("missing", ["marker", "nothing"])
def test_an_unfinished_index_is_rebuilt(tmp_path: Path, encoder: OnnxEncoder, missing: str) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", ["one passage", "another passage"])
    work = tmp_path / "index"
    ensure_large_index(corpus, encoder, work, "bench")
    if missing == "marker":
        (work / "complete.json").unlink()  # as if the build had been interrupted
    again = ensure_large_index(corpus, encoder, work, "bench")
    assert again.reused == (missing != "marker")


def test_an_index_built_by_another_graph_builder_is_not_reused(
    encoder: OnnxEncoder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "x"}\n')
    rebuilt = SimpleNamespace(
        card=replace(encoder.card, extra={**encoder.card.extra, "builder": "another builder"}),
        variant=encoder.variant,
        batch_size=encoder.batch_size,
        batch_tokens=encoder.batch_tokens,
        threads=encoder.threads,
    )
    same = _fingerprint(corpus, encoder, 2)
    assert _fingerprint(corpus, encoder, 2) == same
    assert _fingerprint(corpus, rebuilt, 2) != same  # type: ignore[arg-type]
