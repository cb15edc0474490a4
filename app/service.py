"""The service layer: what the HTTP routes ask for, in terms of the encoder and the store."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from app.documents.record import Record
from app.documents.writer import index_records
from app.encode_combiner import EncodeCombiner
from app.encode_queue import EncodeQueue
from app.encoder import Embeddings, Encoder, TextKind
from app.metrics import Metrics
from app.schemas import (
    CollectionSummary,
    DocumentOut,
    LanguageCount,
    LanguageQuality,
    SearchResult,
    UpsertDocumentsResponse,
)
from app.settings import Settings
from app.store import Filter, Hit, VectorStore
from app.store.base import check_dimension, check_encoder
from app.truncation import fit_to_window


class DocumentNotFoundError(KeyError):
    """No document with this id in the collection."""


def _result(hit: Hit) -> SearchResult:
    payload = hit.payload
    metadata: dict[str, Any] = dict(payload.get("metadata") or {})
    return SearchResult(
        id=str(payload.get("doc_id", hit.id)),
        chunk=int(payload.get("chunk", 0)),
        score=hit.score,
        text=str(payload.get("text", "")),
        language=payload.get("language"),
        language_name=metadata.get("language_name"),
        metadata=metadata,
    )


class SearchService:
    def __init__(
        self,
        encoder: Encoder,
        store: VectorStore,
        metrics: Metrics,
        encode_queue: EncodeQueue | None = None,
        combine_max_texts: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.metrics = metrics
        # Every encoder call from a request waits here (bounded), see app/encode_queue.py.
        self.encode_queue = encode_queue or EncodeQueue()
        # Concurrent requests share encoder calls unless None, see app/encode_combiner.py.
        self.combiner = (
            EncodeCombiner(self.encode_queue, self._encode, combine_max_texts)
            if combine_max_texts
            else None
        )
        self._language_names: dict[tuple[str, str], str | None] = {}

    @classmethod
    def from_settings(
        cls, encoder: Encoder, store: VectorStore, metrics: Metrics, settings: Settings
    ) -> SearchService:
        queue = EncodeQueue.from_settings(settings)
        return cls(encoder, store, metrics, queue, settings.combined_batch_limit)

    @property
    def model_name(self) -> str:
        return self.encoder.card.name

    def embed(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        if self.combiner is not None:
            return self.combiner.encode(texts, kind)
        return self.encode_queue.run(lambda: self._encode(texts, kind))

    def _encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        start = time.perf_counter()
        vectors = self.encoder.encode(texts, kind)
        self.metrics.encode_seconds.labels(kind).observe(time.perf_counter() - start)
        self.metrics.encoded_texts.labels(kind).inc(len(texts))
        self.metrics.encode_batch_texts.labels(kind).observe(len(texts))
        return vectors

    def fit_to_window(self, texts: Sequence[str], kind: TextKind) -> list[str]:
        """The texts cut to the model's window (opt-in `truncate`), see app/truncation.py."""
        return fit_to_window(self.encoder, texts, kind)

    def count_tokens(self, texts: Sequence[str], kind: TextKind) -> int:
        return sum(self.encoder.count_tokens(t, kind) for t in texts)

    def search(
        self, collection: str, query: str, top_k: int, languages: Sequence[str] | None
    ) -> list[SearchResult]:
        # Before encoding: an unknown collection, or one holding another model's vectors.
        check_encoder(collection, self.store.encoder(collection), self.model_name)
        check_dimension(collection, self.store.dimension(collection), self.encoder.dim)
        vector = self.embed([query], "query")[0]
        where = Filter(any_of={"language": list(languages)}) if languages else None
        start = time.perf_counter()
        hits = self.store.search(collection, vector, top_k, where)
        self.metrics.search_seconds.observe(time.perf_counter() - start)
        return [_result(h) for h in hits]

    def collections(self) -> list[CollectionSummary]:
        return [
            CollectionSummary(name=c.name, dim=c.dim, points=c.points, model=c.encoder)
            for c in self.store.list_collections()
        ]

    def model_languages(self) -> list[LanguageQuality]:
        """Per-language reliability measured by the evaluation and written into the card."""
        evaluated: dict[str, dict[str, Any]] = self.encoder.card.extra.get("languages", {})
        languages = [
            LanguageQuality(
                code=code,
                name=figures.get("name"),
                accuracy=figures.get("accuracy"),
                seen_in_pretraining=figures.get("seen_in_pretraining"),
            )
            for code, figures in evaluated.items()
        ]
        return sorted(languages, key=lambda lang: ((lang.name or lang.code).casefold(), lang.code))

    def languages(self, collection: str) -> list[LanguageCount]:
        counts = self.store.facet(collection, "language")
        languages = [
            LanguageCount(code=code, name=self._language_name(collection, code), passages=n)
            for code, n in counts.items()
        ]
        return sorted(languages, key=lambda lang: ((lang.name or lang.code).casefold(), lang.code))

    def _language_name(self, collection: str, code: str) -> str | None:
        key = (collection, code)
        if key not in self._language_names:
            hits = self.store.find(collection, Filter(equals={"language": code}), limit=1)
            metadata = hits[0].payload.get("metadata") or {} if hits else {}
            self._language_names[key] = metadata.get("language_name")
        return self._language_names[key]

    def get_document(self, collection: str, doc_id: str) -> DocumentOut:
        hits = self.store.find(collection, Filter(equals={"doc_id": doc_id}))
        if not hits:
            raise DocumentNotFoundError(doc_id)
        hits.sort(key=lambda h: int(h.payload.get("chunk", 0)))
        first = hits[0].payload
        return DocumentOut(
            id=doc_id,
            collection=collection,
            language=first.get("language"),
            metadata=dict(first.get("metadata") or {}),
            chunks=[str(h.payload.get("text", "")) for h in hits],
        )

    def upsert_documents(
        self, collection: str, documents: Sequence[Record]
    ) -> UpsertDocumentsResponse:
        summary = self.encode_queue.run(
            lambda: index_records(
                documents, encoder=self.encoder, store=self.store, collection=collection
            )
        )
        self._language_names.clear()
        return UpsertDocumentsResponse(
            collection=collection,
            documents=summary.indexed,
            chunks=summary.chunks,
            unchanged=summary.unchanged,
        )

    def delete_document(self, collection: str, doc_id: str) -> int:
        where = Filter(equals={"doc_id": doc_id})
        found = self.store.count(collection, where)
        if not found:
            raise DocumentNotFoundError(doc_id)
        self.store.delete_where(collection, where)
        self._language_names.clear()
        return found

    def delete_collection(self, collection: str) -> int:
        """Delete the collection; the passages it held. CollectionNotFoundError if missing."""
        points = self.store.count(collection)
        self.store.delete_collection(collection)
        self._language_names.clear()
        return points
