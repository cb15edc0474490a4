"""Writing documents: records → chunks → vectors → points in a collection, idempotently.

Shared by the batch indexer and the HTTP API's document upsert.

Documents go through in batches. For each batch the store is asked once which of its
documents are already stored whole under the same `doc_hash`; those are skipped without
tokenizing or encoding. The rest are chunked, encoded and upserted (all chunks of a document
in the same upsert call), then chunks left over from an older version are deleted.

The three steps run as a pipeline (app/documents/pipeline.py): while batch n is encoded, batch
n+1 is read, checked and chunked and batch n-1 upserted, so the encoder, which takes most of
the time, does not wait for the store or the reader.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from app.documents.chunking import Chunk, chunk_text
from app.documents.ids import chunk_payload, doc_hash, point_id
from app.documents.pipeline import run_pipeline
from app.documents.record import Record
from app.encoder import Embeddings, Encoder
from app.highlights.indexing import encode_passages, index_fingerprint, sentence_projection
from app.highlights.payload import FIELD as SENTENCES_FIELD
from app.highlights.sentences import split_sentences
from app.lexical import SparseTerms, TermSplitter, document_vector
from app.settings import SentenceVectors
from app.store.base import Filter, Point, VectorStore

# Documents per batch. The encoder sorts each call's texts by length before it cuts them into
# model batches, so a larger window wastes less padding: on the verse corpus 512 encodes
# 1.7x as many passages per second as 64 (bench/verses, fp32, 2 cores).
DEFAULT_BATCH_SIZE = 512
DEFAULT_OVERLAP_TOKENS = 32
# Tokens per piece of a batch that the encoder calls take in turn (`length_pieces`): about
# four 512-token encoder calls, a fraction of a second on one core.
PIECE_TOKENS = 2048
# Batches read and chunked ahead of the encoder (and encoded ahead of the store): enough to
# keep the encoder busy while a batch is read or written, few enough to bound memory.
DEFAULT_READ_AHEAD = 2
# Encodes passages (a list of texts) into rows of vectors, as `Encoder.encode(texts, "passage")`,
# and gives each passage's sentences for highlights (app/highlights/indexing.py).
EncodedPassages = tuple[Embeddings, list[dict[str, Any]]]
PassageEncoder = Callable[[list[str]], EncodedPassages]
# Upper bound on points fetched when checking which documents of a batch are current.
FIND_LIMIT = 100_000


@dataclass(frozen=True)
class IndexSummary:
    read: int  # records read, rejected ones included
    indexed: int  # documents chunked, encoded and upserted
    unchanged: int  # documents skipped because their stored chunks are current
    rejected: int
    chunks: int  # passages encoded and upserted
    seconds: float

    @property
    def passages_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"read {self.read}, indexed {self.indexed}, unchanged {self.unchanged}, "
            f"rejected {self.rejected}, chunks {self.chunks}, {self.seconds:.1f} s, "
            f"{self.passages_per_s:.1f} passages/s"
        )


@dataclass(frozen=True)
class ChunkingOptions:
    chunk_tokens: int | None = None  # None: the encoder's window for passages
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS

    def resolve(self, encoder: Encoder) -> tuple[int, int]:
        limit = encoder.content_token_limit("passage")
        size = limit if self.chunk_tokens is None else self.chunk_tokens
        if not 1 <= size <= limit:
            raise ValueError(f"chunk size must be in [1, {limit}] tokens, got {size}")
        return size, self.overlap_tokens


@dataclass
class _Counts:
    indexed: int = 0
    unchanged: int = 0
    chunks: int = 0


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _is_whole(payloads: list[dict[str, Any]], digest: str) -> bool:
    """Every stored chunk carries `digest`, and chunks 0..n-1 are all there, nothing more."""
    count = payloads[0].get("chunks")
    return (
        isinstance(count, int)
        and all(p.get("doc_hash") == digest for p in payloads)
        and sorted(p.get("chunk", -1) for p in payloads) == list(range(count))
    )


def _current_docs(
    store: VectorStore, collection: str, digests: dict[str, str]
) -> tuple[set[str], set[str]]:
    """(documents stored whole with the given hash, documents stored in some other state).

    One query per batch for all chunks of its documents, not just chunk 0: a run killed
    between the upsert of new chunks and the deletion of old ones leaves leftovers that
    chunk 0 alone would not reveal.
    """
    hits = store.find(collection, Filter(any_of={"doc_id": list(digests)}), limit=FIND_LIMIT)
    if len(hits) >= FIND_LIMIT:  # cannot see everything: treat all as present and stale
        return set(), set(digests)
    stored: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hit in hits:
        stored[str(hit.payload["doc_id"])].append(hit.payload)
    current = {
        doc_id for doc_id, payloads in stored.items() if _is_whole(payloads, digests[doc_id])
    }
    return current, set(stored) - current


@dataclass(frozen=True)
class _Batch:
    """A batch ready to encode: what to skip, what to write and the texts to encode."""

    size: int  # records in the batch
    ids: list[str]
    todo: list[Record]
    digests: dict[str, str]
    stale: set[str]  # documents whose older chunks must go once the new ones are in
    chunked: list[tuple[Record, list[Chunk]]]
    terms: list[SparseTerms | None]  # each chunk's BM25 terms, in the order of `texts`

    @property
    def texts(self) -> list[str]:
        return [c.text for _, chunks in self.chunked for c in chunks]


class _InFlight:
    """Documents read but not yet written. The store cannot tell whether such a document is
    current (its earlier copy in this run may still be on its way), so a batch that repeats
    one re-encodes it and deletes what it replaces, as if stored stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: Counter[str] = Counter()

    def enter(self, ids: Sequence[str]) -> set[str]:
        """Count `ids` in; returns those already in flight."""
        with self._lock:
            repeated = {i for i in ids if self._count[i]}
            self._count.update(ids)
            return repeated

    def leave(self, ids: Sequence[str]) -> None:
        with self._lock:
            self._count.subtract(ids)
            for doc_id in ids:
                if self._count[doc_id] <= 0:
                    del self._count[doc_id]


class _BatchIndexer:
    """The three stages of `index_records` for one collection: `prepare` (which documents
    changed, their chunks and terms), `encode`, `write` (upsert, then drop old chunks)."""

    def __init__(
        self,
        encoder: Encoder,
        store: VectorStore,
        collection: str,
        batch_size: int,
        chunking: ChunkingOptions,
        skip_unchanged: bool,
        progress: tqdm[Any] | None,
        encode: PassageEncoder | None = None,
        encode_calls: int = 1,
        sentence_vectors: SentenceVectors = "late",
        dense_only: bool = False,
        rejected: Callable[[], int] | None = None,
    ) -> None:
        self.encoder = encoder
        self.sentence_vectors = sentence_vectors
        self.dense_only = dense_only
        self.encode_passages = encode
        self.store = store
        self.collection = collection
        self.batch_size = batch_size
        self.max_tokens, self.overlap = chunking.resolve(encoder)
        self.index_config = {
            "model": encoder.card.name,
            "chunk_tokens": self.max_tokens,
            "overlap_tokens": self.overlap,
            # Documents indexed before highlights (or with other sentence vectors) are re-indexed.
            "sentences": index_fingerprint(sentence_vectors, sentence_projection(encoder)),
        } | ({"dense_only": True} if dense_only else {})
        self.skip_unchanged = skip_unchanged
        self.terms = TermSplitter(encoder.tokenizer)  # each chunk's BM25 terms, for lexical search
        self.progress = progress
        self.rejected = rejected
        self.encode_calls = encode_calls
        self.counts = _Counts()
        self.read = 0
        self.began = time.perf_counter()
        self.in_flight = _InFlight()
        # The prepare and write stages run in threads of their own; some backends (qdrant-client's
        # local mode) must not be read while another thread writes, so their calls take turns.
        self.store_turn = threading.Lock()

    def _fingerprinted(self, record: Record) -> dict[str, Any]:
        """What shaped the record's points: the writer's settings and, where it stores BM25
        terms and highlight sentences, digests of the record's terms and sentence spans, so that
        a change of the term rules or of the sentence splitter re-indexes the documents whose
        terms or sentences it changes, and only those (both cut a text piece by piece, so a
        record that a change leaves alone keeps its chunks' terms and sentences too)."""
        if self.dense_only:
            return self.index_config
        spans = (f"{start}:{end}" for start, end in split_sentences(record.text))
        return self.index_config | {
            "terms": _digest(self.terms.terms(record.text)),
            "sentence_spans": _digest(spans),
        }

    def prepare(self, batch: Sequence[Record]) -> _Batch:
        ids = [r.id for r in batch]
        digests = {r.id: doc_hash(r, self._fingerprinted(r)) for r in batch}
        repeated = self.in_flight.enter(ids)
        with self.store_turn:
            current, stale = _current_docs(self.store, self.collection, digests)
        current, stale = current - repeated, stale | repeated
        if not self.skip_unchanged:
            current, stale = set(), current | stale
        todo = [r for r in batch if r.id not in current]
        chunked = [
            (r, chunk_text(r.text, self.encoder.tokenizer, self.max_tokens, self.overlap))
            for r in todo
        ]
        terms = [
            None if self.dense_only else document_vector(self.terms.terms(c.text))
            for _, cs in chunked
            for c in cs
        ]
        return _Batch(len(batch), ids, todo, digests, stale, chunked, terms)

    def encode(self, batch: _Batch) -> EncodedPassages:
        """The batch's passages; when more than one call may run, `encode_calls` workers
        take pieces of passages of similar length in turn, longest first, so that none
        waits for another at the end of the batch (`length_pieces`)."""
        texts = batch.texts
        calls = min(self.encode_calls, len(texts))
        if calls <= 1:
            return self._encode(texts)
        out = np.empty((len(texts), self.encoder.dim), dtype=np.float32)
        sentences: list[dict[str, Any]] = [{} for _ in texts]
        tokens = [chunk.tokens for _, chunks in batch.chunked for chunk in chunks]
        pieces = length_pieces(tokens, PIECE_TOKENS)
        with ThreadPoolExecutor(calls, thread_name_prefix="index-encode") as pool:
            encoded = pool.map(lambda piece: self._encode([texts[i] for i in piece]), pieces)
            for piece, (vectors, piece_sentences) in zip(pieces, encoded, strict=True):
                out[piece] = vectors
                for row, payload in zip(piece, piece_sentences, strict=True):
                    sentences[row] = payload
        return out, sentences

    def write(self, batch: _Batch, encoded: EncodedPassages) -> None:
        vectors, sentences = encoded
        points = [
            Point(
                point_id(self.collection, record.id, chunk.index),
                vectors[row],
                chunk_payload(record, chunk, len(chunks), batch.digests[record.id])
                | ({} if self.dense_only else {SENTENCES_FIELD: sentences[row]}),
                batch.terms[row],
            )
            for row, (record, chunks, chunk) in enumerate(_flatten(batch.chunked))
        ]
        with self.store_turn:
            if points:
                self.store.upsert(self.collection, points)
            for record in batch.todo:
                if record.id in batch.stale:
                    self.store.delete_where(
                        self.collection,
                        Filter(
                            equals={"doc_id": record.id},
                            not_equals={"doc_hash": batch.digests[record.id]},
                        ),
                    )
        self.in_flight.leave(batch.ids)
        self.read += batch.size
        self.counts.indexed += len(batch.todo)
        self.counts.unchanged += batch.size - len(batch.todo)
        self.counts.chunks += len(points)
        if self.progress is not None:
            self.show_records_seen()
            elapsed = max(time.perf_counter() - self.began, 1e-9)
            self.progress.set_postfix(
                indexed=self.counts.indexed,
                unchanged=self.counts.unchanged,
                chunks=self.counts.chunks,
                passages_s=f"{self.counts.chunks / elapsed:.1f}",
            )

    def show_records_seen(self) -> None:
        """The bar counts the records written and those the reader refused: its total (the
        input's records) holds both."""
        if self.progress is not None:
            seen = self.read + (self.rejected() if self.rejected is not None else 0)
            self.progress.update(seen - self.progress.n)

    def _encode(self, texts: list[str]) -> EncodedPassages:
        if self.encode_passages is not None:
            return self.encode_passages(texts)
        if self.dense_only:
            return self.encoder.encode(texts, "passage"), [{} for _ in texts]
        out = np.empty((len(texts), self.encoder.dim), dtype=np.float32)
        sentences: list[dict[str, Any]] = []
        for start in range(0, len(texts), self.batch_size):
            part = texts[start : start + self.batch_size]
            vectors, part_sentences = encode_passages(self.encoder, part, self.sentence_vectors)
            out[start : start + len(part)] = vectors
            sentences += part_sentences
        return out, sentences


def length_pieces(tokens: Sequence[int], budget: int) -> list[list[int]]:
    """Indices of `tokens` (passage lengths) longest first, cut into pieces of at most
    `budget` tokens (a longer passage alone). Each piece holds passages of about one length,
    so the encoder pads little, and the last pieces are the shortest to wait for."""
    pieces: list[list[int]] = []
    piece: list[int] = []
    held = 0
    for i in sorted(range(len(tokens)), key=lambda i: -tokens[i]):
        if piece and held + tokens[i] > budget:
            pieces.append(piece)
            piece, held = [], 0
        piece.append(i)
        held += tokens[i]
    if piece:
        pieces.append(piece)
    return pieces


def _flatten(
    chunked: list[tuple[Record, list[Chunk]]],
) -> Iterator[tuple[Record, list[Chunk], Chunk]]:
    for record, chunks in chunked:
        for chunk in chunks:
            yield record, chunks, chunk


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        ids = [r.id for r in batch]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate document ids in one batch")
        yield batch


def index_records(
    records: Iterable[Record],
    *,
    encoder: Encoder,
    store: VectorStore,
    collection: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunking: ChunkingOptions | None = None,
    skip_unchanged: bool = True,
    progress: bool = False,
    total: int | None = None,
    encode: PassageEncoder | None = None,
    on_batch: Callable[[int, int, int], None] | None = None,
    encode_calls: int = 1,
    read_ahead: int = DEFAULT_READ_AHEAD,
    sentence_vectors: SentenceVectors = "late",
    dense_only: bool = False,
    rejected: Callable[[], int] | None = None,
) -> IndexSummary:
    """Index documents into `collection` (created if missing). Re-running the same records
    changes nothing; a changed record's chunks replace its old ones.

    Reading and chunking, encoding, and upserting overlap (app/documents/pipeline.py), up to
    `read_ahead` batches ahead; the first error in any of them stops the run and is raised.
    `encode_calls` encoder calls run at once on each batch's passages. A store that can defer
    its index building (`BulkLoading`) builds it once at the end, not on the encode path.

    `encode` encodes passages instead of `encoder.encode` (the service's scheduled encoder
    calls); `on_batch(read, indexed, unchanged)` hears the running totals after each batch;
    `sentence_vectors`: how the highlights' sentence vectors are made (app/highlights), the
    method `encode` uses too when given. `dense_only` stores the dense vectors alone, with no
    BM25 terms and no highlight sentences (the benchmark's reference for what lexical search
    and highlights cost at indexing); lexical search finds nothing in what it writes.
    `rejected()`: how many input records the caller's reader has refused so far, counted on
    the progress bar with the records written, so that it reaches `total`."""
    if batch_size < 1 or encode_calls < 1:
        raise ValueError(
            f"batch_size and encode_calls must be positive, got {batch_size}, {encode_calls}"
        )
    began = time.perf_counter()
    store.create_collection(collection, encoder.dim, encoder.card.name)
    with (
        tqdm(
            desc=f"indexing {collection}",
            unit="doc",
            total=total,
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        ) as bar,
        _bulk_load(store, collection),
    ):
        indexer = _BatchIndexer(
            encoder,
            store,
            collection,
            batch_size,
            chunking or ChunkingOptions(),
            skip_unchanged,
            bar if progress else None,
            encode,
            encode_calls,
            sentence_vectors,
            dense_only,
            rejected,
        )

        def written(batch: _Batch, encoded: EncodedPassages) -> None:
            indexer.write(batch, encoded)
            if on_batch is not None:
                on_batch(indexer.read, indexer.counts.indexed, indexer.counts.unchanged)

        prepared = (indexer.prepare(batch) for batch in _batches(records, batch_size))
        run_pipeline(prepared, indexer.encode, written, depth=read_ahead)
        indexer.show_records_seen()  # records refused after the last batch
    counts = indexer.counts
    return IndexSummary(
        read=indexer.read,
        indexed=counts.indexed,
        unchanged=counts.unchanged,
        rejected=0,
        chunks=counts.chunks,
        seconds=time.perf_counter() - began,
    )


@runtime_checkable
class BulkLoading(Protocol):
    """A store that can hold off building its search index while a bulk load writes."""

    def bulk_load(self, collection: str) -> AbstractContextManager[None]:
        """Writes to `collection` inside skip index building; leaving builds it once."""


def _bulk_load(store: VectorStore, collection: str) -> AbstractContextManager[None]:
    return store.bulk_load(collection) if isinstance(store, BulkLoading) else nullcontext()
