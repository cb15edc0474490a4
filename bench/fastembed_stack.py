"""What a user who cares about speed would pick: FastEmbed (Qdrant's ONNX embedding library)
running the project's own ONNX file and tokenizer, writing into the same store (qdrant-edge).

FastEmbed loads the model as a custom model from a local folder (`TextEmbedding.
add_custom_model` + `specific_model_path`, `local_files_only`): nothing comes from a hub. The
folder holds links to the project's files: the ONNX graph of the variant measured, the
tokenizer the project serves with, and the tokenizer config and model config of the exported
checkpoint (pad token and window). FastEmbed pools by mean over the attention mask and
normalises, as the model card says; it adds no prefix, so the card's e5 prefixes are added here.
`vector_agreement` checks that both compute the same vectors.

FastEmbed's own way of working is kept: it batches texts in input order (no sorting by length)
and pads each batch to its longest text; `threads` onnxruntime threads per call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.documents.ids import point_id
from app.encoder import Embeddings, OnnxEncoder, TextKind
from app.model_card import ModelCard, Variant, external_data_file
from app.store.base import Point
from app.store.edge import QdrantEdgeStore
from bench.corpus import StackIndexSummary, jsonl_batches, record_payload

FASTEMBED_BATCH_SIZE = 256  # FastEmbed's default `embed(batch_size=...)`
UPSERT_BATCH = 256  # records per upsert: one FastEmbed batch


def _model_folder(model_dir: Path, variant: Variant, folder: Path) -> tuple[Path, str]:
    """A folder of links that FastEmbed reads as a local model; returns it and the ONNX file's
    name inside it."""
    card = ModelCard.load(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    onnx_name = card.onnx_files[variant]
    hf = model_dir / str(card.extra.get("hf_dir", "hf"))
    links = {
        onnx_name: model_dir / onnx_name,
        "tokenizer.json": model_dir / card.tokenizer_file,
        "tokenizer_config.json": hf / "tokenizer_config.json",
        "config.json": hf / "config.json",
    }
    tables = external_data_file(onnx_name)  # found beside the link that onnxruntime opens
    if (model_dir / tables).is_file():
        links[tables] = model_dir / tables
    for name, target in links.items():
        link = folder / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target.resolve())
    return folder, onnx_name


class FastEmbedEncoder:
    """FastEmbed's `TextEmbedding` on the project's ONNX file, with the card's prefixes."""

    def __init__(
        self, model_dir: Path, variant: Variant, work_dir: Path, threads: int | None = None
    ) -> None:
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        self.card = ModelCard.load(model_dir)
        self.variant = variant
        folder, onnx_name = _model_folder(model_dir, variant, work_dir / f"fastembed-{variant}")
        # A name per model and variant: FastEmbed's registry is process-wide and refuses a
        # name twice.
        name = f"polyglot-search/{self.card.name}-{variant}"
        if name not in {m["model"] for m in TextEmbedding.list_supported_models()}:
            TextEmbedding.add_custom_model(
                model=name,
                pooling=PoolingType.MEAN,
                normalization=self.card.normalize,
                sources=ModelSource(hf="polyglot-search/local-only"),  # never fetched
                dim=self.card.dim,
                model_file=onnx_name,
            )
        self.model = TextEmbedding(
            model_name=name,
            cache_dir=str(work_dir / "fastembed-cache"),
            threads=threads,
            specific_model_path=str(folder),
            local_files_only=True,
        )

    def encode(
        self, texts: Sequence[str], kind: TextKind, batch_size: int = FASTEMBED_BATCH_SIZE
    ) -> Embeddings:
        prefix = self.card.query_prefix if kind == "query" else self.card.passage_prefix
        vectors = list(self.model.embed([prefix + t for t in texts], batch_size=batch_size))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.card.dim)


@dataclass(frozen=True)
class Agreement:
    """Cosine between FastEmbed's and the project's vectors of the same passages."""

    variant: str
    passages: int
    min_cosine: float
    mean_cosine: float

    @property
    def same(self) -> bool:
        return self.min_cosine >= 0.999


def vector_agreement(
    ours: OnnxEncoder, theirs: FastEmbedEncoder, texts: Sequence[str]
) -> Agreement:
    """One text per call on both sides, so that int8's per-call activation scale is the same
    and only the machinery differs (prefix, tokenizer, padding, pooling, normalisation)."""
    size = ours.batch_size
    ours.batch_size = 1
    try:
        a = ours.encode(texts, "passage")
    finally:
        ours.batch_size = size
    b = theirs.encode(texts, "passage", batch_size=1)
    cosines = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return Agreement(theirs.variant, len(texts), float(cosines.min()), float(cosines.mean()))


def fastembed_index(
    corpus: Path, encoder: FastEmbedEncoder, store_dir: Path, collection: str
) -> StackIndexSummary:
    """Read JSONL → FastEmbed → upsert into qdrant-edge (the project's store class, so both
    write the same engine the same way; dense vectors only, no BM25 terms), closed at the end."""
    began = time.perf_counter()
    store = QdrantEdgeStore(store_dir)
    try:
        store.create_collection(collection, encoder.card.dim, encoder.card.name)
        points = 0
        for batch in jsonl_batches(corpus, UPSERT_BATCH):
            vectors = encoder.encode([str(r["text"]) for r in batch], "passage")
            store.upsert(
                collection,
                [
                    Point(
                        point_id(collection, str(record["id"]), 0),
                        vectors[row],
                        record_payload(record),
                    )
                    for row, record in enumerate(batch)
                ],
            )
            points += len(batch)
    finally:
        store.close()
    return StackIndexSummary(points, time.perf_counter() - began)
