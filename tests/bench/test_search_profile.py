"""`python -m bench.search_profile`: runs on a real store with the real model and accounts for
every search, its parts, and the garbage collector (frozen at start-up or not)."""

from __future__ import annotations

import gc
from pathlib import Path

from app.documents.record import Record
from app.documents.writer import index_records
from app.encoder import OnnxEncoder
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from bench.search_profile import TIMED_STORE_CALLS, profile


def test_profile_times_each_part_of_each_search(
    model_dir: Path, encoder: OnnxEncoder, demo_records: list[Record], tmp_path: Path
) -> None:
    store = QdrantEdgeStore(tmp_path / "store")
    index_records(demo_records[:60], encoder=encoder, store=store, collection="bench")
    store.close()
    settings = Settings(
        models_dir=model_dir.parent,
        model=model_dir.name,
        data_dir=tmp_path / "store",
        default_collection="bench",
    )
    queries = ["Everyone has the right to life", "droit à l'éducation"]
    try:
        for freeze in (True, False):
            report = profile(settings, queries, rounds=2, mode="hybrid", freeze=freeze)
            assert report["gc_freeze"] is freeze and report["searches"] == 4
            assert {"encode", *TIMED_STORE_CALLS} <= set(report["parts"])
            assert abs(report["slowest"][0]["ms"] - report["search"]["max_ms"]) < 0.01
            assert (gc.get_freeze_count() > 0) is freeze
        dense = profile(settings, queries, rounds=1, mode="dense", freeze=True)
        assert dense["searches"] == 2
        assert set(dense["parts"]) == {"encode", "search", "retrieve"}  # no lexical calls
    finally:
        gc.unfreeze()
