"""Picks the backend from the settings: a Qdrant server when one is configured, else embedded."""

from __future__ import annotations

from app.settings import Settings
from app.store.base import VectorStore
from app.store.edge import QdrantEdgeStore
from app.store.remote import QdrantClientStore


def open_store(settings: Settings) -> VectorStore:
    """`QDRANT_URL` (with `QDRANT_API_KEY`) selects the server; otherwise qdrant-edge keeps the
    collections under `data_dir`."""
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        secret = settings.qdrant_api_key  # a SecretStr: never in repr(settings) or a log
        api_key = secret.get_secret_value() if secret is not None else None
        client = QdrantClient(url=settings.qdrant_url, api_key=api_key)
        return QdrantClientStore(
            client,
            settings.qdrant_shards,
            settings.qdrant_replicas,
            quantization=settings.vector_quantization,
            hnsw_ef=settings.search_hnsw_ef,
            payload_indexes=settings.payload_indexes,
        )
    return QdrantEdgeStore(
        settings.data_dir,
        quantization=settings.vector_quantization,
        hnsw_ef=settings.search_hnsw_ef,
        payload_indexes=settings.payload_indexes,
    )
