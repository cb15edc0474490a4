"""Writing documents: records → chunks → vectors → points in a collection, idempotently.

Shared by the batch indexer and the HTTP API's document upsert.

Documents go through in batches. For each batch the store is asked once which of its
documents are already stored whole under the same `doc_hash`; those are skipped without
tokenizing or encoding. The rest are chunked, encoded and upserted (all chunks of a document
in the same upsert call), then chunks left over from an older version are deleted.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from app.documents.chunking import Chunk, chunk_text
from app.documents.ids import chunk_payload, doc_hash, point_id
from app.documents.record import Record
from app.encoder import Embeddings, Encoder
from app.highlights.indexing import encode_passages, index_fingerprint
from app.highlights.payload import FIELD as SENTENCES_FIELD
from app.lexical import TermSplitter, document_vector
from app.settings import SentenceVectors
from app.store.base import Filter, Point, VectorStore

# Documents per batch. The encoder sorts each call's texts by length before it cuts them into
# model batches, so a larger window wastes less padding: on the verse corpus 512 encodes
# 1.7x as many passages per second as 64 (bench/verses, fp32, 2 cores).
DEFAULT_BATCH_SIZE = 512
DEFAULT_OVERLAP_TOKENS = 32
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


class _BatchIndexer:
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
        sentence_vectors: SentenceVectors = "late",
    ) -> None:
        self.encoder = encoder
        self.sentence_vectors = sentence_vectors
        self.encode_passages = encode
        self.store = store
        self.collection = collection
        self.batch_size = batch_size
        self.max_tokens, self.overlap = chunking.resolve(encoder)
        self.index_config = {
            "model": encoder.card.name,
            "chunk_tokens": self.max_tokens,
            "overlap_tokens": self.overlap,
            # Documents indexed before highlights (or with another splitter) are re-indexed.
            "sentences": index_fingerprint(sentence_vectors),
        }
        self.skip_unchanged = skip_unchanged
        self.terms = TermSplitter(encoder.tokenizer)  # each chunk's BM25 terms, for lexical search
        self.progress = progress
        self.counts = _Counts()

    def run(self, batch: Sequence[Record]) -> None:
        digests = {r.id: doc_hash(r, self.index_config) for r in batch}
        current, stale = _current_docs(self.store, self.collection, digests)
        if not self.skip_unchanged:
            current, stale = set(), current | stale
        todo = [r for r in batch if r.id not in current]
        self.counts.unchanged += len(batch) - len(todo)
        chunked = [
            (r, chunk_text(r.text, self.encoder.tokenizer, self.max_tokens, self.overlap))
            for r in todo
        ]
        texts = [c.text for _, chunks in chunked for c in chunks]
        vectors, sentences = self._encode(texts)
        points = [
            Point(
                point_id(self.collection, record.id, chunk.index),
                vectors[row],
                chunk_payload(record, chunk, len(chunks), digests[record.id])
                | {SENTENCES_FIELD: sentences[row]},
                document_vector(self.terms.terms(chunk.text)),
            )
            for row, (record, chunks, chunk) in enumerate(_flatten(chunked))
        ]
        if points:
            self.store.upsert(self.collection, points)
        for record in todo:
            if record.id in stale:
                self.store.delete_where(
                    self.collection,
                    Filter(
                        equals={"doc_id": record.id}, not_equals={"doc_hash": digests[record.id]}
                    ),
                )
        self.counts.indexed += len(todo)
        self.counts.chunks += len(points)
        if self.progress is not None:
            self.progress.update(len(batch))
            self.progress.set_postfix(
                indexed=self.counts.indexed,
                unchanged=self.counts.unchanged,
                chunks=self.counts.chunks,
            )

    def _encode(self, texts: list[str]) -> EncodedPassages:
        if self.encode_passages is not None:
            return self.encode_passages(texts)
        out = np.empty((len(texts), self.encoder.dim), dtype=np.float32)
        sentences: list[dict[str, Any]] = []
        for start in range(0, len(texts), self.batch_size):
            part = texts[start : start + self.batch_size]
            vectors, part_sentences = encode_passages(self.encoder, part, self.sentence_vectors)
            out[start : start + len(part)] = vectors
            sentences += part_sentences
        return out, sentences


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
    sentence_vectors: SentenceVectors = "late",
) -> IndexSummary:
    """Index documents into `collection` (created if missing). Re-running the same records
    changes nothing; a changed record's chunks replace its old ones.

    `encode` encodes passages instead of `encoder.encode` (the service's scheduled encoder
    calls); `on_batch(read, indexed, unchanged)` hears the running totals after each batch;
    `sentence_vectors`: how the highlights' sentence vectors are made (app/highlights), the
    method `encode` uses too when given."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    began = time.perf_counter()
    store.create_collection(collection, encoder.dim, encoder.card.name)
    with tqdm(
        desc=f"indexing {collection}",
        unit="doc",
        total=total,
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    ) as bar:
        indexer = _BatchIndexer(
            encoder,
            store,
            collection,
            batch_size,
            chunking or ChunkingOptions(),
            skip_unchanged,
            bar if progress else None,
            encode,
            sentence_vectors,
        )
        read = 0
        for batch in _batches(records, batch_size):
            read += len(batch)
            indexer.run(batch)
            if on_batch is not None:
                on_batch(read, indexer.counts.indexed, indexer.counts.unchanged)
    counts = indexer.counts
    return IndexSummary(
        read=read,
        indexed=counts.indexed,
        unchanged=counts.unchanged,
        rejected=0,
        chunks=counts.chunks,
        seconds=time.perf_counter() - began,
    )
