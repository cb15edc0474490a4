"""Vector store adapters: one interface, an embedded and a remote Qdrant backend."""

from app.store.base import (
    CollectionInfo,
    CollectionNotFoundError,
    Filter,
    Hit,
    Point,
    VectorStore,
)
from app.store.factory import open_store

__all__ = [
    "CollectionInfo",
    "CollectionNotFoundError",
    "Filter",
    "Hit",
    "Point",
    "VectorStore",
    "open_store",
]
