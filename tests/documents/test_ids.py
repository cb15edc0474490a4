"""Point ids and document hashes: stable across runs, different where they must differ."""

from __future__ import annotations

import uuid

from app.documents.ids import doc_hash, point_id
from app.documents.record import Record

CONFIG = {"model": "m", "chunk_tokens": 100, "overlap_tokens": 10}


def test_point_ids_are_stable_uuids_that_depend_on_every_part() -> None:
    base = point_id("udhr", "swh/18", 0)
    assert uuid.UUID(base).version == 5
    assert base == point_id("udhr", "swh/18", 0)
    others = {point_id("other", "swh/18", 0), point_id("udhr", "swh/19", 0)}
    others |= {point_id("udhr", "swh/18", 1), point_id("udhr", "swh/1", 80)}
    assert base not in others and len(others) == 4


def test_doc_hash_changes_with_content_metadata_and_index_settings() -> None:
    record = Record(id="a", text="Hello", language="en", metadata={"k": 1})
    same = Record(id="a", text="  Hello ", language="en", metadata={"k": 1})
    assert doc_hash(record, CONFIG) == doc_hash(same, dict(reversed(CONFIG.items())))
    variants = [
        Record(id="a", text="Hello!", language="en", metadata={"k": 1}),
        Record(id="a", text="Hello", language="fr", metadata={"k": 1}),
        Record(id="a", text="Hello", language="en", metadata={"k": 2}),
    ]
    hashes = {doc_hash(v, CONFIG) for v in variants}
    hashes.add(doc_hash(record, {**CONFIG, "chunk_tokens": 50}))
    assert doc_hash(record, CONFIG) not in hashes and len(hashes) == 4
