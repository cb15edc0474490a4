"""What a user would otherwise build: sentence-transformers on torch + qdrant-client local mode.

Same base model (the HF checkpoint the ONNX graphs were exported from), same pooling (mean),
same normalisation and the same e5 prefixes as the project, so both stacks compute the same
vectors; only the machinery differs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client.models import Distance, PointStruct, VectorParams
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

from app.encoder import Embeddings, TextKind
from app.model_card import ModelCard
from bench.corpus import StackIndexSummary, jsonl_batches, record_payload

NAIVE_BATCH_SIZE = 32  # sentence-transformers' default encode batch
UPSERT_BATCH = 64  # records per upsert, as the project's indexer batches them


class SentenceTransformerEncoder:
    """The model as sentence-transformers runs it, with the card's prefixes."""

    def __init__(self, model_dir: Path) -> None:
        self.card = ModelCard.load(model_dir)
        transformer = Transformer(str(model_dir / "hf"), max_seq_length=self.card.max_seq_length)
        modules = [transformer, Pooling(self.card.dim, "mean"), Normalize()]
        self.model = SentenceTransformer(modules=modules, device="cpu")

    def encode(
        self, texts: Sequence[str], kind: TextKind, batch_size: int = NAIVE_BATCH_SIZE
    ) -> Embeddings:
        prefix = self.card.query_prefix if kind == "query" else self.card.passage_prefix
        vectors = self.model.encode(
            [prefix + t for t in texts], batch_size=batch_size, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def naive_index(
    corpus: Path, encoder: SentenceTransformerEncoder, store_dir: Path, collection: str
) -> StackIndexSummary:
    """Read JSONL → encode → upsert into qdrant-client local mode (persisted under `store_dir`)."""
    began = time.perf_counter()
    client = QdrantClient(path=str(store_dir))
    try:
        client.create_collection(
            collection, vectors_config=VectorParams(size=encoder.card.dim, distance=Distance.COSINE)
        )
        points = 0
        for batch in jsonl_batches(corpus, UPSERT_BATCH):
            vectors = encoder.encode([str(r["text"]) for r in batch], "passage")
            client.upsert(
                collection,
                points=[
                    PointStruct(
                        id=points + row,
                        vector=vectors[row].tolist(),
                        payload=record_payload(record),
                    )
                    for row, record in enumerate(batch)
                ],
            )
            points += len(batch)
    finally:
        client.close()
    return StackIndexSummary(points=points, seconds=time.perf_counter() - began)
