"""Deterministic point ids and the payload stored with each chunk.

Ids depend only on (collection, document id, chunk index), so re-running an input overwrites
the same points instead of adding new ones. `doc_hash` fingerprints what a document's chunks
were built from, so a re-run can tell unchanged documents from changed ones.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from app.documents.chunking import Chunk
from app.documents.record import Record

# Fixed namespace for uuid5; changing it would orphan every point ever indexed.
POINT_NAMESPACE = uuid.UUID("6f1c2d1e-8a8e-5c4b-9a57-3d1f0b6c2e91")


def point_id(collection: str, doc_id: str, chunk: int) -> str:
    key = json.dumps([collection, doc_id, chunk], ensure_ascii=False, separators=(",", ":"))
    return str(uuid.uuid5(POINT_NAMESPACE, key))


def doc_hash(record: Record, index_config: dict[str, Any]) -> str:
    """sha256 of the record's canonical JSON plus what shaped its chunks and vectors
    (model name, chunk sizes): changing either means the stored chunks are stale."""
    fields = record.model_dump(mode="json")
    # Hashed under the field's former name, so documents indexed before the rename stay current.
    fields["lang"] = fields.pop("language")
    canonical = json.dumps(
        {"record": fields, "index": index_config},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chunk_payload(record: Record, chunk: Chunk, chunks: int, digest: str) -> dict[str, Any]:
    return {
        "doc_id": record.id,
        "chunk": chunk.index,
        "chunks": chunks,
        "text": chunk.text,
        "language": record.language,
        "doc_hash": digest,
        "metadata": dict(record.metadata),
    }
