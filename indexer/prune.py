"""`--prune`: after indexing a file, delete the collection's documents the file no longer holds,
so that a collection rebuilt from a corpus file by a batch job follows it (deletions too).

Only a whole, cleanly read file may prune: from stdin the ids cannot be read a second time, a
shard holds only its share of them, and a rejected record may be a document the file still
means to hold (its line is broken, not gone), so any of these refuses or skips the pruning.
"""

from __future__ import annotations

from pathlib import Path

from app.documents.records import Accepted, read_records
from app.store.base import Filter, VectorStore

# Documents deleted per store call.
DELETE_BATCH = 1_000


def check_prunable(source: Path | str, sharded: bool) -> None:
    """ValueError where `--prune` cannot know which documents the input holds."""
    if str(source) == "-":
        raise ValueError("--prune needs a file: the ids of stdin cannot be read again")
    if sharded:
        raise ValueError("--prune needs the whole input: a shard holds only its share of ids")


def input_ids(source: Path | str) -> set[str]:
    """The ids of the records the input holds (accepted ones)."""
    return {item.record.id for item in read_records(source) if isinstance(item, Accepted)}


def prune(store: VectorStore, collection: str, keep: set[str]) -> int:
    """Delete every document of `collection` whose id is not in `keep`; how many were."""
    stored = store.facet(collection, "doc_id")
    gone = sorted(doc_id for doc_id in stored if doc_id not in keep)
    for first in range(0, len(gone), DELETE_BATCH):
        store.delete_where(
            collection, Filter(any_of={"doc_id": gone[first : first + DELETE_BATCH]})
        )
    return len(gone)
