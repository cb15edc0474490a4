"""Indexing throughput end to end: read JSONL → (chunk →) encode → upsert, durably stored.

Model loading is left out for both stacks (it is a start-up cost, measured with the service);
opening and closing the store is included, since closing is what makes the writes durable.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from app.encoder import OnnxEncoder
from app.store.edge import QdrantEdgeStore
from bench.fastembed_stack import FastEmbedEncoder, fastembed_index
from bench.graph_variants import VARIANTS, write_variant
from bench.naive_stack import SentenceTransformerEncoder, naive_index
from indexer.pipeline import index_file


@dataclass(frozen=True)
class IndexFigure:
    stack: str
    records: int
    points: int
    seconds: float

    @property
    def passages_per_s(self) -> float:
        return self.points / self.seconds if self.seconds > 0 else 0.0


def _fresh(directory: Path) -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    return directory


def index_ours(
    corpus: Path,
    encoder: OnnxEncoder,
    store_dir: Path,
    collection: str,
    encode_calls: int = 1,
    dense_only: bool = False,
) -> IndexFigure:
    """The project's indexer (`python -m indexer` runs the same `index_file`, with the encoder
    of `indexer.pipeline.indexing_encoder` and as many calls at once) into qdrant-edge.
    `dense_only`: without the BM25 terms and highlight sentences it writes by default."""
    began = time.perf_counter()
    store = QdrantEdgeStore(_fresh(store_dir))
    try:
        summary = index_file(
            corpus,
            encoder=encoder,
            store=store,
            collection=collection,
            encode_calls=encode_calls,
            dense_only=dense_only,
        )
    finally:
        store.close()
    stack = "ours, dense only" if dense_only else "ours"
    return IndexFigure(stack, summary.read, summary.chunks, time.perf_counter() - began)


# The int8 graph served before issue 19: unfused, onnxruntime's dynamic quantisation on top.
OLD_INT8_GRAPH = next(v for v in VARIANTS if v.name == "int8 dynamic plain (old)")


def old_int8_encoder(model_dir: Path, work_dir: Path, threads: int) -> OnnxEncoder:
    """`model_dir`'s model as the indexer encoded it before issue 19: the old int8 graph
    (written to `work_dir` from the model's state dict), one text per onnxruntime call, since
    dynamic quantisation's activation scales made a text's vector depend on its batch."""
    target = _fresh(work_dir)
    write_variant(model_dir, OLD_INT8_GRAPH, target)
    return OnnxEncoder(target, "fp32", threads=threads, batch_size=1)  # the card's one file


def index_fastembed(
    corpus: Path, encoder: FastEmbedEncoder, store_dir: Path, collection: str
) -> IndexFigure:
    summary = fastembed_index(corpus, encoder, _fresh(store_dir), collection)
    return IndexFigure("fastembed", summary.points, summary.points, summary.seconds)


def index_naive(
    corpus: Path, encoder: SentenceTransformerEncoder, store_dir: Path, collection: str
) -> IndexFigure:
    summary = naive_index(corpus, encoder, _fresh(store_dir), collection)
    return IndexFigure("naive", summary.points, summary.points, summary.seconds)
