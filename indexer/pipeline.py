"""Indexing files: stream records from JSONL/CSV, set bad ones aside, write the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from app.documents.record import Record
from app.documents.records import Accepted, Rejected, input_format, read_records
from app.documents.writer import DEFAULT_BATCH_SIZE, ChunkingOptions, IndexSummary, index_records
from app.encoder import Encoder, OnnxEncoder
from app.settings import SentenceVectors, Settings
from app.store.base import VectorStore
from indexer.sharding import Shard


class _RejectSink:
    """Counts rejected records, writes them as JSON lines if a file was given, and hands each
    to `on_reject` if given."""

    def __init__(self, handle: TextIO | None, on_reject: Callable[[Rejected], None] | None) -> None:
        self.handle = handle
        self.on_reject = on_reject
        self.count = 0

    def add(self, rejected: Rejected) -> None:
        self.count += 1
        if self.handle is not None:
            self.handle.write(rejected.to_json() + "\n")
        if self.on_reject is not None:
            self.on_reject(rejected)


def _accepted(source: Path | str, sink: _RejectSink, shard: Shard | None) -> Iterator[Record]:
    for item in read_records(source):
        if isinstance(item, Accepted):
            if shard is None or shard.owns(item.record.id):
                yield item.record
        elif shard is None or shard.owns_line(item.line):
            sink.add(item)


def indexing_encoder(settings: Settings, encode_calls: int | None = None) -> OnnxEncoder:
    """The encoder `python -m indexer` uses: the cores shared out among `encode_calls` calls at
    once (default `Settings.encode_calls`, one per core), to be passed on to `index_file`."""
    return OnnxEncoder.from_settings(
        settings, concurrent_calls=encode_calls or settings.encode_calls
    )


def estimated_records(source: Path | str, shard: Shard | None = None) -> int | None:
    """About how many records `source` holds (for the progress bar's total and ETA): its
    non-blank lines, less a CSV header, shared out between shards. None for stdin."""
    if str(source) == "-":
        return None
    with Path(source).open("rb") as lines:
        count = sum(1 for line in lines if line.strip())
    if input_format(source) == "csv":
        count = max(count - 1, 0)  # quoted fields spanning lines make this an upper bound
    return count if shard is None else -(-count // shard.count)


def index_file(
    source: Path | str,
    *,
    encoder: Encoder,
    store: VectorStore,
    collection: str,
    rejects: Path | None = None,
    on_reject: Callable[[Rejected], None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunking: ChunkingOptions | None = None,
    skip_unchanged: bool = True,
    progress: bool = False,
    shard: Shard | None = None,
    encode_calls: int = 1,
    sentence_vectors: SentenceVectors = "late",
    dense_only: bool = False,
) -> IndexSummary:
    """Index a JSONL/CSV file (or `-` for stdin), writing bad records to `rejects` and handing
    each to `on_reject` (the command line tells them when no file keeps them). With a
    `shard`, only that share of the records (and of the rejects) is handled. Reading runs
    ahead of encoding, and `encode_calls` encoder calls run at once (`index_records`, which
    also says what `dense_only` leaves out)."""
    handle = rejects.open("w", encoding="utf-8") if rejects is not None else None
    try:
        sink = _RejectSink(handle, on_reject)
        summary = index_records(
            _accepted(source, sink, shard),
            encoder=encoder,
            store=store,
            collection=collection,
            batch_size=batch_size,
            chunking=chunking,
            skip_unchanged=skip_unchanged,
            progress=progress,
            total=estimated_records(source, shard) if progress else None,
            encode_calls=encode_calls,
            sentence_vectors=sentence_vectors,
            dense_only=dense_only,
            rejected=lambda: sink.count,
        )
    finally:
        if handle is not None:
            handle.close()
    return IndexSummary(
        read=summary.read + sink.count,
        indexed=summary.indexed,
        unchanged=summary.unchanged,
        rejected=sink.count,
        chunks=summary.chunks,
        seconds=summary.seconds,
    )
