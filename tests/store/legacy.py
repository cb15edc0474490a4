"""Collections as they were created before lexical search: a dense vector and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from qdrant_edge import Distance, EdgeConfig, EdgeShard, EdgeVectorParams

from app.store.edge import METADATA_FILE, SHARD_DIR


def legacy_edge_collection(data_dir: Path, name: str, dim: int, encoder: str | None) -> None:
    """Write, under a closed store's `data_dir`, a collection without the BM25 sparse vector,
    with the metadata the store wrote then (no `lexical` key)."""
    directory = data_dir / name
    config = EdgeConfig(vectors=EdgeVectorParams(size=dim, distance=Distance.Cosine))
    EdgeShard.create(str(directory / SHARD_DIR), config).close()
    metadata = {
        "name": name,
        "dim": dim,
        "distance": "cosine",
        "quantization": "none",
        "encoder": encoder,
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
