"""Serve the API while a corpus is indexed in the background, in one process.

The embedded Qdrant store can be opened by one process only, so `make run` does both here:
the service answers at once over what is already indexed, and fills up as indexing goes on.
A restart resumes: documents already stored whole are skipped without re-encoding.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from app.backup import GatedStore
from app.documents.record import Record
from app.documents.writer import ChunkingOptions, index_records
from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.server import serve
from app.service import SearchService
from app.settings import Settings
from app.store.factory import open_store

log = logging.getLogger(__name__)


def serve_while_indexing(
    records: Iterable[Record],
    total: int | None,
    settings: Settings,
    collection: str,
    batch_size: int,
    chunking: ChunkingOptions,
) -> None:
    encoder = OnnxEncoder.from_settings(settings)
    # Gated, so that a backup taken through the API holds the indexer's writes too.
    store = GatedStore(open_store(settings), None if settings.qdrant_url else settings.data_dir)
    store.create_collection(collection, encoder.dim, encoder.card.name)
    service = SearchService.from_settings(encoder, store, Metrics(), settings)

    def index() -> None:
        try:
            summary = index_records(
                records,
                encoder=encoder,
                store=store,
                collection=collection,
                batch_size=batch_size,
                chunking=chunking,
                progress=True,
                total=total,
            )
            log.info("demo corpus indexed: %s", summary)
        except Exception:
            log.exception("indexing the demo corpus failed; serving what is indexed")

    threading.Thread(target=index, name="demo-indexer", daemon=True).start()
    log.info("serving on http://%s:%d while indexing %s", settings.host, settings.port, collection)
    try:
        serve(create_app(settings, service), settings)
    finally:
        store.close()
