"""The indexing pipeline end to end: real encoder, real embedded Qdrant, idempotent re-runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from app.documents import writer
from app.documents.ids import point_id
from app.documents.record import Record
from app.documents.writer import ChunkingOptions, EncodedPassages, IndexSummary, index_records
from app.encoder import Embeddings, OnnxEncoder, Span, TextKind
from app.highlights import indexing as highlights_indexing
from app.highlights.indexing import encode_passages
from app.highlights.payload import FIELD as SENTENCES_FIELD
from app.highlights.sentences import split_sentences
from app.lexical import TermSplitter, query_vector
from app.store.base import Filter, Point, ReadThroughStore, VectorStore
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore
from indexer.pipeline import estimated_records, index_file
from indexer.sharding import Shard
from indexer.udhr import UdhrDeclaration, article_records
from tests.indexer.cli import cli_env

ROOT = Path(__file__).resolve().parents[2]
SMALL_CHUNKS = ChunkingOptions(chunk_tokens=48, overlap_tokens=8)


@pytest.fixture(params=["edge", "client"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """Both backends: the embedded engine and qdrant-client (local mode stands in for a server)."""
    from qdrant_client import QdrantClient

    store: VectorStore = (
        QdrantEdgeStore(tmp_path / "edge")
        if request.param == "edge"
        else QdrantClientStore(QdrantClient(location=":memory:"))
    )
    yield store
    store.close()


@pytest.fixture
def articles(declarations: dict[str, UdhrDeclaration]) -> list[Record]:
    return list(article_records([declarations["eng"], declarations["swh"]]))


def _index(
    records: list[Record],
    encoder: OnnxEncoder,
    store: VectorStore,
    chunking: ChunkingOptions = SMALL_CHUNKS,
    skip_unchanged: bool = True,
) -> IndexSummary:
    return index_records(
        records,
        encoder=encoder,
        store=store,
        collection="docs",
        batch_size=16,
        chunking=chunking,
        skip_unchanged=skip_unchanged,
    )


def _points(store: VectorStore, doc_id: str | None = None) -> list[dict[str, object]]:
    where = Filter(equals={"doc_id": doc_id}) if doc_id else Filter()
    return [h.payload | {"id": h.id} for h in store.find("docs", where)]


class _ObservedEncoder:
    """The real encoder, with the texts of every `encode` and `encode_spans` call (passages
    with their sentences, for highlights) recorded."""

    def __init__(self, inner: OnnxEncoder) -> None:
        self.inner = inner
        self.calls: list[int] = []  # texts per call

    def encode(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        self.calls.append(len(texts))
        return self.inner.encode(texts, kind, solo)

    def encode_spans(
        self, texts: Sequence[str], kind: TextKind, spans: Sequence[Sequence[Span]] | None
    ) -> tuple[Embeddings, list[Embeddings]]:
        self.calls.append(len(texts))
        return self.inner.encode_spans(texts, kind, spans)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_rerun_adds_nothing_and_skips_encoding(
    articles: list[Record], encoder: OnnxEncoder, any_store: VectorStore
) -> None:
    records = articles[::2]  # 30 articles, English and Swahili
    observed = _ObservedEncoder(encoder)
    first = _index(records, observed, any_store)  # type: ignore[arg-type]
    points = _points(any_store)

    assert (first.read, first.indexed, first.unchanged, first.rejected) == (30, 30, 0, 0)
    assert len(points) > 30  # some articles need several 48-token chunks
    assert sum(observed.calls) == len(points)  # each stored chunk encoded once
    for p in points:
        assert p["id"] == point_id("docs", str(p["doc_id"]), int(str(p["chunk"])))
        assert p["language"] in {"eng", "swh"}
    assert {p["doc_id"] for p in points} == {r.id for r in records}

    observed.calls.clear()
    _index(records, observed, any_store)  # type: ignore[arg-type]
    assert observed.calls == []  # the encoder was not called at all
    assert sorted(str(p["id"]) for p in _points(any_store)) == sorted(str(p["id"]) for p in points)

    _index(records, observed, any_store, skip_unchanged=False)  # type: ignore[arg-type]
    assert sum(observed.calls) == len(points)
    assert any_store.count("docs") == len(points)


def test_changed_record_replaces_its_old_chunks(
    articles: list[Record], encoder: OnnxEncoder, any_store: VectorStore
) -> None:
    long_doc = Record(id="doc", text=" ".join(r.text for r in articles[:6]), language="eng")
    other = Record(id="other", text=articles[7].text, language="eng")
    _index([long_doc, other], encoder, any_store)
    old = _points(any_store, "doc")
    assert len(old) > 3
    other_before = _points(any_store, "other")

    short_doc = Record(
        id="doc", text="A short replacement text.", language="eng", metadata={"v": 2}
    )
    summary = _index([short_doc, other], encoder, any_store)

    assert (summary.indexed, summary.unchanged, summary.chunks) == (1, 1, 1)
    (new,) = _points(any_store, "doc")
    assert new["text"] == short_doc.text
    assert new["metadata"] == {"v": 2}
    assert (new["chunk"], new["chunks"]) == (0, 1)
    assert new["doc_hash"] != old[0]["doc_hash"]
    assert _points(any_store, "other") == other_before


def test_new_chunk_sizes_reindex_everything_without_leftovers(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    small = _index(articles[:10], encoder, store)
    large = _index(articles[:10], encoder, store, chunking=ChunkingOptions(chunk_tokens=400))
    assert small.chunks > large.chunks == 10 == large.indexed
    assert store.count("docs") == 10


class _NewTermRules(TermSplitter):
    """Term rules changed for one word: "dignity" is cut into two terms."""

    def terms(self, text: str) -> list[str]:
        cut = (["dig", "nity"] if term == "dignity" else [term] for term in super().terms(text))
        return [term for terms in cut for term in terms]


def test_new_term_rules_reindex_the_documents_whose_terms_they_change(
    encoder: OnnxEncoder, store: QdrantEdgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored BM25 terms cut by older rules than the queries' would not match them; documents
    the new rules cut as before are not encoded again."""
    records = [
        Record(id="touched", text="All are born equal in dignity and rights."),
        Record(id="untouched", text="Everyone has the right to life and liberty."),
    ]
    _index(records, encoder, store)
    monkeypatch.setattr(writer, "TermSplitter", _NewTermRules)
    summary = _index(records, encoder, store)
    assert (summary.indexed, summary.unchanged) == (1, 1)
    hits = store.search_lexical("docs", query_vector(["nity"]), 5, Filter())
    assert [hit.payload["doc_id"] for hit in hits] == ["touched"]


def _new_sentence_rules(text: str) -> list[Span]:
    """The sentence splitter changed for one word: a sentence also ends before " and "."""
    spans = []
    for start, end in split_sentences(text):
        cut = text.find(" and ", start, end)
        spans += [(start, cut), (cut + 1, end)] if cut > start else [(start, end)]
    return spans


def test_a_new_sentence_splitter_reindexes_the_documents_whose_sentences_it_moves(
    encoder: OnnxEncoder, store: QdrantEdgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        Record(id="touched", text="All are born equal in dignity and rights."),
        Record(id="untouched", text="Everyone has the right to life, liberty."),
    ]
    _index(records, encoder, store)
    monkeypatch.setattr(writer, "split_sentences", _new_sentence_rules)
    monkeypatch.setattr(highlights_indexing, "split_sentences", _new_sentence_rules)
    summary = _index(records, encoder, store)
    assert (summary.indexed, summary.unchanged) == (1, 1)
    (touched,) = _points(store, "touched")
    (stored,) = store.retrieve("docs", [str(touched["id"])])
    assert stored.payload[SENTENCES_FIELD]["spans"] == [[0, 29], [30, 41]]


def test_a_half_written_document_is_indexed_again(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    """A crash between upsert and the deletion of old chunks leaves a stale chunk behind; the
    next run must notice it (chunk 0 alone would look current) and clean up."""
    doc = articles[0]
    _index([doc], encoder, store)
    (current,) = _points(store, doc.id)
    stale = Point(
        point_id("docs", doc.id, 5),
        np.ones(encoder.dim, dtype=np.float32) / np.sqrt(encoder.dim),
        {"doc_id": doc.id, "chunk": 5, "chunks": 6, "doc_hash": "old", "text": "stale"},
    )
    store.upsert("docs", [stale])

    summary = _index([doc], encoder, store)

    assert (summary.indexed, summary.unchanged) == (1, 0)
    assert [p["id"] for p in _points(store, doc.id)] == [current["id"]]


def test_a_translation_is_found_across_languages(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    index_records(articles, encoder=encoder, store=store, collection="docs")
    query = encoder.encode(["freedom of thought, conscience and religion"], "query")[0]
    hits = store.search("docs", query, 3, Filter(equals={"language": "swh"}))
    assert hits[0].payload["doc_id"] == "swh/18"
    assert "dini" in hits[0].payload["text"]


def test_index_file_writes_rejects_with_line_numbers(
    tmp_path: Path, encoder: OnnxEncoder, store: QdrantEdgeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "docs.jsonl"
    source.write_text(
        '{"id": "a", "text": "Everyone has the right to education."}\n'
        '{"id": "b", "text": ""}\n'
        "oops\n"
        '{"id": "c", "text": "Kila mtu ana haki ya kupata elimu.", "language": "swh"}\n',
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.jsonl"
    told: list[int] = []
    summary = index_file(
        source,
        encoder=encoder,
        store=store,
        collection="docs",
        rejects=rejects,
        on_reject=lambda rejected: told.append(rejected.line),
        progress=True,
    )

    assert (summary.read, summary.indexed, summary.rejected, summary.chunks) == (4, 2, 2, 2)
    assert told == [2, 3]
    assert "4/4" in capsys.readouterr().err  # the bar counts refused records too: it ends full
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["raw"]) for r in lines] == [(2, '{"id": "b", "text": ""}'), (3, "oops")]
    assert all(r["reason"] for r in lines)


def test_command_line_indexes_a_file(tmp_path: Path, encoder: OnnxEncoder) -> None:
    """`encoder` is requested so the model is built before the subprocesses load it."""
    source = tmp_path / "docs.csv"
    source.write_text(
        "id,text,lang,topic\n1,Everyone has the right to life.,eng,life\n2,,eng,\n",
        encoding="utf-8",
    )
    env = cli_env(tmp_path / "qdrant")
    command = [sys.executable, "-m", "indexer", str(source), "--collection", "cli", "--quiet"]
    command += ["--rejects", str(tmp_path / "rejects.jsonl")]

    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)

    assert run.returncode == 1, run.stderr  # done, but a record was refused
    assert "read 2, indexed 1, unchanged 0, rejected 1, chunks 1" in run.stdout
    (rejected,) = (tmp_path / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(rejected)["line"] == 3
    store = QdrantEdgeStore(tmp_path / "qdrant")
    try:
        (hit,) = store.find("cli", Filter())
        assert hit.payload["metadata"] == {"topic": "life"}
    finally:
        store.close()


def test_command_line_tells_rejected_records_when_no_file_keeps_them(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    """Without `--rejects` the first ten refusals go to stderr with their line and reason, and
    a closing line says how many were not shown and how to keep them all."""
    source = tmp_path / "docs.jsonl"
    rows = [
        {"id": str(i), "text": "" if i % 2 else "Everyone has the right to life."}
        for i in range(26)
    ]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    env = cli_env(tmp_path / "qdrant")
    command = [sys.executable, "-m", "indexer", str(source), "--collection", "cli", "--quiet"]

    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)

    assert run.returncode == 1, run.stderr
    told = [line for line in run.stderr.splitlines() if " rejected: " in line]
    assert told[0] == "line 2 rejected: text: Value error, text is empty"
    assert len(told) == 10
    assert "13 records rejected, 3 more not shown: --rejects FILE" in run.stderr


def test_progress_total_counts_records_not_blank_lines_or_the_csv_header(tmp_path: Path) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"id": "a", "text": "x"}\n\n{"id": "b", "text": "y"}\n  \n')
    csv = tmp_path / "in.csv"
    csv.write_text("id,text\na,x\nb,y\nc,z\n")
    assert estimated_records(jsonl) == 2
    assert estimated_records(csv) == 3
    assert estimated_records(csv, Shard(0, 2)) == 2  # rounded up: a share, not a promise
    assert estimated_records("-") is None  # stdin cannot be counted ahead


class _SlowStore(ReadThroughStore):
    """The real store, with upserts slowed down so that reading runs batches ahead of them."""

    def __init__(self, inner: VectorStore, fail_on_upsert: int | None = None) -> None:
        super().__init__(inner)
        self.upserts = 0
        self.fail_on_upsert = fail_on_upsert

    def create_collection(self, name: str, dim: int, encoder: str | None = None) -> None:
        self.inner.create_collection(name, dim, encoder)

    def delete_collection(self, name: str) -> None:
        self.inner.delete_collection(name)

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        self.upserts += 1
        if self.upserts == self.fail_on_upsert:
            raise OSError("disk full")
        time.sleep(0.2)
        self.inner.upsert(collection, points)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self.inner.delete(collection, ids)

    def delete_where(self, collection: str, where: Filter) -> None:
        self.inner.delete_where(collection, where)

    def close(self) -> None:
        self.inner.close()


def test_a_document_repeated_while_its_first_copy_is_in_flight_leaves_no_leftovers(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    """Batch 3 is read and checked before batch 1 is written: the store cannot yet show the
    first copy, so the repeat must still replace it (old chunks deleted), not pile up beside."""
    long_doc = Record(id="doc", text=" ".join(r.text for r in articles[:6]), language="eng")
    short_doc = Record(id="doc", text="A short replacement text.", language="eng")
    records = [long_doc, articles[7], short_doc]
    slow = _SlowStore(store)
    summary = index_records(
        records, encoder=encoder, store=slow, collection="docs", batch_size=1,
        chunking=SMALL_CHUNKS, read_ahead=2,
    )  # fmt: skip
    assert (summary.read, summary.indexed) == (3, 3)
    (point,) = _points(store, "doc")
    assert point["text"] == short_doc.text and point["chunks"] == 1


def test_a_failed_upsert_stops_the_run_and_a_rerun_resumes(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    records = articles[:12]
    observed = _ObservedEncoder(encoder)
    with pytest.raises(OSError, match="disk full"):
        index_records(
            records, encoder=observed, store=_SlowStore(store, fail_on_upsert=2),  # type: ignore[arg-type]
            collection="docs", batch_size=4, chunking=SMALL_CHUNKS,
        )  # fmt: skip
    stored = {p["doc_id"] for p in _points(store)}
    assert stored == {r.id for r in records[:4]}  # the first batch only, whole

    observed.calls.clear()
    summary = _index(records, observed, store)  # type: ignore[arg-type]
    assert (summary.indexed, summary.unchanged) == (8, 4)
    assert {p["doc_id"] for p in _points(store)} == {r.id for r in records}


def test_an_encoder_error_surfaces_unchanged(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    calls = [0]

    def failing(texts: list[str]) -> EncodedPassages:
        calls[0] += 1
        if calls[0] == 2:
            raise MemoryError("encoder out of memory")
        return encode_passages(encoder, texts)

    with pytest.raises(MemoryError, match="out of memory"):
        index_records(
            articles[:12], encoder=encoder, store=store, collection="docs", batch_size=4,
            encode=failing,
        )  # fmt: skip
    assert {p["doc_id"] for p in _points(store)} <= {r.id for r in articles[:4]}


def test_concurrent_encoder_calls_give_each_passage_its_own_vector(
    articles: list[Record],
    encoder: OnnxEncoder,
    store: QdrantEdgeStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch is cut into pieces that two calls take in turn, and put back together: every
    stored vector and every sentence list is its own text's (int8 encodes each text alone, so
    the vectors are the same as one call's)."""
    monkeypatch.setattr(writer, "PIECE_TOKENS", 64)  # many pieces of a few passages each
    records = articles[:10]
    index_records(
        records, encoder=encoder, store=store, collection="docs", chunking=SMALL_CHUNKS,
        encode_calls=2,
    )  # fmt: skip
    points = _whole_payloads(store)
    assert len(points) > len(records)
    texts = [str(p["text"]) for p in points]
    vectors, sentences = encode_passages(encoder, texts)
    for point, vector, own_sentences in zip(points, vectors, sentences, strict=True):
        (hit,) = store.search("docs", vector, 1)
        assert hit.payload["doc_id"] == point["doc_id"] and hit.score > 0.999
        assert hit.payload["chunk"] == point["chunk"]
        stored = dict(point[SENTENCES_FIELD])  # type: ignore[call-overload]
        # The store keeps the sentence vectors' scales as float32; spans and codes exactly.
        scales = stored.pop("scales", []), own_sentences.pop("scales", [])
        assert scales[0] == pytest.approx(scales[1], rel=1e-6)
        assert stored == own_sentences


def test_length_pieces_cover_every_passage_once_longest_first_within_the_budget() -> None:
    tokens = [5, 40, 12, 40, 3, 100, 7, 20]
    pieces = writer.length_pieces(tokens, budget=50)
    assert sorted(i for piece in pieces for i in piece) == list(range(len(tokens)))
    lengths = [tokens[i] for piece in pieces for i in piece]
    assert lengths == sorted(tokens, reverse=True)
    assert pieces[0] == [5]  # longer than the budget: alone
    assert all(sum(tokens[i] for i in piece) <= 50 for piece in pieces[1:])
    assert writer.length_pieces([], budget=50) == []


def _whole_payloads(store: VectorStore) -> list[dict[str, object]]:
    """Every point's whole payload (`find` leaves the retrieve-only fields out)."""
    return [h.payload for h in store.retrieve("docs", [str(p["id"]) for p in _points(store)])]


def test_dense_only_writes_no_terms_or_sentences_and_a_full_index_replaces_it(
    articles: list[Record], encoder: OnnxEncoder, store: QdrantEdgeStore
) -> None:
    records = articles[:6]
    index_records(records, encoder=encoder, store=store, collection="docs", dense_only=True)
    dense = _whole_payloads(store)
    query = query_vector(TermSplitter(encoder.tokenizer).terms(records[0].text))
    assert dense and all(SENTENCES_FIELD not in p for p in dense)
    assert store.search_lexical("docs", query, limit=10) == []
    hit = store.search("docs", encoder.encode([records[0].text], "query")[0], limit=1)[0]
    assert hit.payload["doc_id"] == records[0].id  # the dense vectors are there

    # A dense-only document is not current for the default writer: it is indexed again, whole.
    again = index_records(records, encoder=encoder, store=store, collection="docs")
    assert (again.indexed, again.unchanged) == (6, 0)
    assert all(SENTENCES_FIELD in p for p in _whole_payloads(store))
    assert store.count("docs") == len(dense)
    assert store.search_lexical("docs", query, limit=1)[0].payload["doc_id"] == records[0].id


def test_command_line_says_when_the_store_is_in_use(tmp_path: Path, encoder: OnnxEncoder) -> None:
    """A service holding the embedded store's directory: one line saying what to do, exit 2."""
    source = tmp_path / "docs.jsonl"
    source.write_text('{"id": "a", "text": "Everyone has the right to life."}\n', encoding="utf-8")
    holder = QdrantEdgeStore(tmp_path / "qdrant")  # as a running service would
    try:
        command = [sys.executable, "-m", "indexer", str(source), "--quiet"]
        run = subprocess.run(
            command, cwd=ROOT, env=cli_env(tmp_path / "qdrant"), capture_output=True, text=True
        )
    finally:
        holder.close()
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: ") and "already open in another store or process" in line
    assert "POST /v1/collections/NAME/documents" in line
