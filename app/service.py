"""The service layer: what the HTTP routes ask for, in terms of the encoder and the store."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from app.documents.record import Record
from app.documents.writer import EncodedPassages, PassageEncoder, index_records
from app.encode_combiner import EncodeCombiner, may_run_solo
from app.encode_queue import EncodeQueue, Priority
from app.encoder import Embeddings, Encoder, TextKind, batch_independent
from app.highlights.indexing import encode_passages
from app.highlights.payload import FIELD as SENTENCES_FIELD
from app.highlights.payload import decode_sentences
from app.highlights.scoring import highlights
from app.language_codes import LanguageIndex, language_name
from app.lexical import TermSplitter, query_vector
from app.metrics import Metrics
from app.schemas import (
    CollectionSummary,
    DocumentOut,
    HighlightOut,
    LanguageCount,
    LanguageQuality,
    ResultGroup,
    SearchResult,
    UpsertDocumentsResponse,
)
from app.settings import SearchMode, SentenceVectors, Settings
from app.store import Filter, Hit, VectorStore
from app.store.base import LexicalIndexMissingError, check_dimension, check_encoder
from app.store.fusion import HybridConfig, fuse
from app.store.groups import RankedGroup, groups_by_mean, ranked_groups
from app.truncation import fit_to_window

# Used when no settings are given (tests that build the service by hand): the shipped defaults
# (`model_construct` skips the environment).
DEFAULT_HYBRID = HybridConfig.from_settings(Settings.model_construct())


# How long the codes of a collection's passages are reused to match requested languages.
# Writes through this service (and its background indexing) renew them at once; this bounds
# how late a language indexed by another process (a remote Qdrant's other writers) is matched.
LANGUAGES_FRESH_S = 5.0
_LEADING_NON_WORD = re.compile(r"^\W+")  # "(Bataknese)" sorts under B


class DocumentNotFoundError(KeyError):
    """No document with this id in the collection."""


def with_languages(conditions: Filter | None, languages: Sequence[str] | None) -> Filter | None:
    """`conditions` and the language restriction together (None when there is neither)."""
    if not languages:
        return conditions
    base = conditions or Filter()
    return replace(base, any_of={**base.any_of, "language": list(languages)})


def _name_of(language: str | None, metadata: dict[str, Any]) -> str | None:
    """The document's own name for its language (metadata `language_name`, when a text), else
    the code's (`app/language_codes.py`)."""
    named = metadata.get("language_name")
    if isinstance(named, str) and named.strip():
        return named
    return language_name(language) if language else None


def _alphabetical(language: LanguageCount | LanguageQuality) -> tuple[str, str]:
    """Sort key of a language list: by name (else code), case and any leading punctuation
    aside: the UDHR's "(Bataknese)" sorts under B, not before "Amharic"."""
    label = (language.name or language.code).casefold()
    return _LEADING_NON_WORD.sub("", label) or label, language.code


def _result(hit: Hit, score: float | None = None) -> SearchResult:
    payload = hit.payload
    metadata: dict[str, Any] = dict(payload.get("metadata") or {})
    language = payload.get("language")
    return SearchResult(
        id=str(payload.get("doc_id", hit.id)),
        chunk=int(payload.get("chunk", 0)),
        score=hit.score if score is None else score,
        text=str(payload.get("text", "")),
        language=language,
        language_name=_name_of(language, metadata),
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
        write_encode_texts: int = 4,
        default_mode: SearchMode = "hybrid",
        hybrid: HybridConfig = DEFAULT_HYBRID,
        sentence_vectors: SentenceVectors = "late",
        group_rank_passages: int = 1,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.metrics = metrics
        # Every encoder call from a request waits here (bounded), see app/encode_queue.py.
        self.encode_queue = encode_queue or EncodeQueue()
        # Passages per encoder call of an upsert or background indexing (each queues alone).
        self.write_encode_texts = write_encode_texts
        # Concurrent requests share encoder calls unless None, see app/encode_combiner.py.
        self.combiner = (
            EncodeCombiner(self.encode_queue, self._encode, combine_max_texts)
            if combine_max_texts
            else None
        )
        self._language_names: dict[str, dict[str, str | None]] = {}  # collection → code → name
        self._language_indexes: dict[str, tuple[float, LanguageIndex]] = {}
        self.default_mode = default_mode
        self.hybrid = hybrid
        self.sentence_vectors = sentence_vectors  # how writes make highlights' sentence vectors
        self.group_rank_passages = group_rank_passages  # groups rank by their best this many
        self.terms = TermSplitter(encoder.tokenizer)  # the writer's terms (app/documents/writer)

    @classmethod
    def from_settings(
        cls, encoder: Encoder, store: VectorStore, metrics: Metrics, settings: Settings
    ) -> SearchService:
        queue = EncodeQueue.from_settings(settings, observer=metrics)
        metrics.watch_queue(
            queue,
            settings.threads_per_call(queue.concurrency),
            settings.solo_threads(queue.concurrency),
            settings.write_encode_texts,
        )
        return cls(
            encoder,
            store,
            metrics,
            queue,
            settings.combined_batch_limit(batch_independent(settings.model_variant, encoder.card)),
            settings.write_encode_texts,
            settings.search_mode,
            HybridConfig.from_settings(settings),
            settings.highlight_sentence_vectors,
            settings.group_rank_passages,
        )

    @property
    def model_name(self) -> str:
        return self.encoder.card.name

    def embed(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        if self.combiner is not None:
            return self.combiner.encode(texts, kind)
        alone = (
            (lambda: self._encode(texts, kind, solo=True)) if may_run_solo(texts, kind) else None
        )
        return self.encode_queue.run(lambda: self._encode(texts, kind), solo=alone)

    def _encode(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        start = time.perf_counter()
        vectors = self.encoder.encode(texts, kind, solo)
        self.metrics.encode_seconds.labels(kind).observe(time.perf_counter() - start)
        self.metrics.encoded_texts.labels(kind).inc(len(texts))
        self.metrics.encode_batch_texts.labels(kind).observe(len(texts))
        return vectors

    def _encode_passages(self, texts: Sequence[str]) -> EncodedPassages:
        """Passage vectors and sentences for highlights (app/highlights/indexing.py)."""
        start = time.perf_counter()
        encoded = encode_passages(self.encoder, texts, self.sentence_vectors)
        self.metrics.encode_seconds.labels("passage").observe(time.perf_counter() - start)
        self.metrics.encoded_texts.labels("passage").inc(len(texts))
        self.metrics.encode_batch_texts.labels("passage").observe(len(texts))
        return encoded

    def passage_encoder(
        self, priority: Priority, texts_per_call: int | None = None
    ) -> PassageEncoder:
        """Encodes a job's passages as many small encoder calls of `texts_per_call` texts
        (default `write_encode_texts`), each queued at `priority` (on the encoder's
        low-priority threads: queries take the cores from them, app/encode_queue.py). A write's
        first call is admitted like a request's (it may be refused with 503); later calls, and
        every background call, wait their turn, aging, but are never refused. Safe to call from
        several threads at once (the indexer's encode calls)."""
        first = [priority is Priority.WRITE]
        first_lock = threading.Lock()
        piece = texts_per_call or self.write_encode_texts

        def encode(texts: list[str]) -> EncodedPassages:
            out = np.empty((len(texts), self.encoder.dim), dtype=np.float32)
            sentences: list[dict[str, Any]] = []
            for start in range(0, len(texts), piece):
                part = texts[start : start + piece]
                job = functools.partial(self._encode_passages, part)
                with first_lock:
                    bounded, first[0] = first[0], False
                vectors, part_sentences = self.encode_queue.run(job, priority, bounded)
                out[start : start + len(part)] = vectors
                sentences += part_sentences
            return out, sentences

        return encode

    def fit_to_window(self, texts: Sequence[str], kind: TextKind) -> list[str]:
        """The texts cut to the model's window (opt-in `truncate`), see app/truncation.py."""
        return fit_to_window(self.encoder, texts, kind)

    def count_tokens(self, texts: Sequence[str], kind: TextKind) -> int:
        return sum(self.encoder.count_tokens(t, kind) for t in texts)

    def search_mode(self, collection: str, asked: SearchMode | None) -> SearchMode:
        """The mode a search runs in: the one asked for, else the default, except that a
        collection created before lexical search (no BM25 terms) is searched dense unless
        lexical or hybrid is asked for by name (then LexicalIndexMissingError says how to
        reindex)."""
        if asked is not None:
            return asked
        if self.default_mode != "dense" and not self.store.has_lexical(collection):
            return "dense"
        return self.default_mode

    def search(
        self,
        collection: str,
        query: str,
        top_k: int,
        languages: Sequence[str] | None,
        conditions: Filter | None = None,
        group_by: str | None = None,
        mode: SearchMode = "dense",
        highlight: bool = False,
        offset: int = 0,
    ) -> list[SearchResult]:
        """`conditions`: payload conditions besides `languages`; `group_by`: the best hit of each
        of the `top_k` best groups instead, each with its group's size and languages;
        `highlight`: each result with its sentences that best match the query; `offset`: the
        results (or groups) after the best `offset`, ranked as the best `offset + top_k`."""
        # Before encoding: an unknown collection, or one holding another model's vectors.
        check_encoder(collection, self.store.encoder(collection), self.model_name)
        check_dimension(collection, self.store.dimension(collection), self.encoder.dim)
        if mode != "dense" and not self.store.has_lexical(collection):
            raise LexicalIndexMissingError(collection)
        where = with_languages(conditions, languages)
        vector = None if mode == "lexical" else self.embed([query], "query")[0]
        start = time.perf_counter()
        ranked: list[tuple[Hit, float]]
        groups: list[RankedGroup] = []
        depth = offset + top_k
        if group_by is None:
            ranked = self._ranking(collection, query, mode, vector, skip=offset)(depth, where)
        else:
            groups = self._groups(collection, query, mode, vector, group_by, depth, where)[offset:]
            ranked = [(g.group.hit, g.best) for g in groups]
        results = [_result(h, score) for h, score in ranked]
        if group_by is not None:
            results = [
                r.model_copy(update={"group": self._group(collection, group_by, g, conditions)})
                for r, g in zip(results, groups, strict=True)
            ]
        if highlight:
            results = self._highlighted(collection, query, mode, vector, ranked, results)
        self.metrics.search_seconds.observe(time.perf_counter() - start)
        return results

    def _groups(
        self,
        collection: str,
        query: str,
        mode: SearchMode,
        vector: Embeddings | None,
        group_by: str,
        limit: int,
        where: Filter | None,
    ) -> list[RankedGroup]:
        """The best `limit` groups, each with its best passage, ranked by the mean of its best
        `group_rank_passages` passages' scores (app/store/groups.py), or by the best alone."""
        search = self._ranking(collection, query, mode, vector)
        if self.group_rank_passages > 1:
            return groups_by_mean(search, group_by, limit, self.group_rank_passages, where)
        if vector is not None and mode == "dense":  # the store's own (native on a server)
            best = self.store.search_groups(collection, vector, group_by, limit, where)
            return [RankedGroup(g, g.hit.score, g.hit.score) for g in best]
        return [RankedGroup(g, s, s) for g, s in ranked_groups(search, group_by, limit, where)]

    def _ranking(
        self,
        collection: str,
        query: str,
        mode: SearchMode,
        vector: Embeddings | None,
        skip: int = 0,
    ) -> Callable[[int, Filter | None], list[tuple[Hit, float]]]:
        """`search(limit, where)`: the collection's best `limit` passages for the query in
        `mode`, best first, each with its score (hybrid: the fused one), but the first `skip`:
        a later page reads the payloads of its own passages only (at depth 500, 8.1 ms of
        payloads against 2.7 ms ranked without them and read after)."""
        if mode == "hybrid":
            assert vector is not None
            return lambda limit, where: self._hybrid(collection, query, vector, limit, where, skip)
        if mode == "lexical":
            terms = query_vector(self.terms.terms(query))

            def ranked(limit: int, where: Filter | None, payload: bool) -> list[Hit]:
                return self.store.search_lexical(collection, terms, limit, where, payload)
        else:
            assert vector is not None  # dense embeds the query

            def ranked(limit: int, where: Filter | None, payload: bool) -> list[Hit]:
                return self.store.search(collection, vector, limit, where, payload)

        def search(limit: int, where: Filter | None) -> list[tuple[Hit, float]]:
            if not skip:  # one read: the ranking and its payloads together
                return [(h, h.score) for h in ranked(limit, where, True)]
            page = ranked(limit, where, False)[skip:]
            return self._read(collection, [(h.id, h.score, h.score) for h in page])

        return search

    def _highlighted(
        self,
        collection: str,
        query: str,
        mode: SearchMode,
        vector: Embeddings | None,
        ranked: list[tuple[Hit, float]],
        results: list[SearchResult],
    ) -> list[SearchResult]:
        """The results with their highlights. The sentences' vectors stay out of search payloads
        (app/store/base.py): one `retrieve` reads them for the hits shown, unless the hybrid
        ranking read the hits whole already. Dense and hybrid hits carry their cosine as
        `Hit.score` (the hybrid's fused score is kept apart)."""
        stored = {h.id: h.payload for h, _ in ranked if SENTENCES_FIELD in h.payload}
        unread = [h.id for h, _ in ranked if h.id not in stored]
        stored |= {h.id: h.payload for h in self.store.retrieve(collection, unread)}
        query_terms = None if mode == "dense" else set(self.terms.terms(query))
        out = []
        for result, (hit, _) in zip(results, ranked, strict=True):
            payload = stored.get(hit.id, {})
            sentences = decode_sentences(payload.get(SENTENCES_FIELD), len(result.text))
            found = highlights(
                result.text,
                sentences,
                vector,
                query_terms,
                self.terms.terms,
                None if mode == "lexical" else hit.score,
            )
            spans = [HighlightOut(start=h.start, end=h.end, score=h.score) for h in found]
            out.append(result.model_copy(update={"highlights": spans}))
        return out

    def _hybrid(
        self,
        collection: str,
        query: str,
        vector: Embeddings,
        limit: int,
        where: Filter | None,
        skip: int = 0,
    ) -> list[tuple[Hit, float]]:
        """The dense candidates and the lexical ones, each with its cosine, fused: the best
        `limit` with their hybrid scores, but the first `skip`. Candidates are ranked by id and
        score alone; only those returned are read whole (with their sentences, for highlights),
        in one `retrieve`: reading ~200 candidates' payloads cost more than the ranking itself."""
        terms = self.terms.terms(query)
        config = self.hybrid
        wanted = max(limit, config.dense_candidates)
        dense = self.store.search(collection, vector, wanted, where, payload=False)
        lexical = (
            self.store.search_lexical(
                collection,
                query_vector(terms),
                max(limit, config.lexical_candidates),
                where,
                payload=False,
            )
            if terms
            else []
        )
        cosines = {h.id: h.score for h in dense}
        unscored = [h.id for h in lexical if h.id not in cosines]
        cosines.update(
            {h.id: h.score for h in self.store.score_points(collection, vector, unscored)}
        )
        fused = fuse(
            cosines,
            {h.id: h.score for h in lexical},
            len(set(terms)),
            config.weight,
            limit,
            config.baseline_rank,
        )
        return self._read(collection, [(f.id, cosines[f.id], f.score) for f in fused[skip:]])

    def _read(
        self, collection: str, ranked: list[tuple[str, float, float]]
    ) -> list[tuple[Hit, float]]:
        """Passages ranked without their payloads, as (id, cosine, score), read whole in one
        `retrieve`: each as a hit with its cosine, beside its score."""
        hits = self.store.retrieve(collection, [point for point, _, _ in ranked])
        stored = {h.id: h.payload for h in hits}
        return [
            (Hit(id=point, score=cosine, payload=stored[point]), score)
            for point, cosine, score in ranked
            if point in stored  # deleted since it was ranked
        ]

    def _group(
        self, collection: str, key: str, ranked: RankedGroup, conditions: Filter | None
    ) -> ResultGroup:
        """The group of `key`'s value: its passages matching `conditions`, in every language
        (a passage whose `key` is a list holding the value among them)."""
        value = ranked.group.value
        base = conditions or Filter()
        where = replace(base, equals={**base.equals, key: value})
        # A group is a small part of the collection: Qdrant's per-segment facet reads its points
        # (0.2 ms per UDHR article against 45 ms exact); the size is counted exactly.
        languages = self.store.facet(collection, "language", where, exact=False)
        size = self.store.count(collection, where)
        return ResultGroup(
            key=key,
            value=value,
            score=ranked.score,
            size=size,
            languages=sorted(languages),
        )

    def collections(self) -> list[CollectionSummary]:
        return [
            CollectionSummary(name=c.name, dim=c.dim, points=c.points, model=c.encoder)
            for c in self.store.list_collections()
        ]

    def languages_meant(self, collection: str, requested: Sequence[str] | None) -> list[str] | None:
        """The requested language codes as the collection spells them: `en` finds `eng`,
        `de` finds `deu_1996`, `zh` finds `cmn_hans` (`app/language_codes.py`)."""
        if not requested:
            return None
        now = time.monotonic()
        cached = self._language_indexes.get(collection)
        if cached is None or now - cached[0] > LANGUAGES_FRESH_S:
            # Per segment: the same codes as an exact count's, at a fraction of its cost.
            stored = self.store.facet(collection, "language", exact=False)
            cached = self._language_indexes[collection] = (now, LanguageIndex(stored))
        return cached[1].meant(requested)

    def forget_languages(self, collection: str) -> None:
        """After a write to `collection`: its languages and their names are read again (the
        other collections' stay cached)."""
        self._language_names.pop(collection, None)
        self._language_indexes.pop(collection, None)

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
        return sorted(languages, key=_alphabetical)

    def languages(self, collection: str) -> list[LanguageCount]:
        counts = self.store.facet(collection, "language")
        languages = [
            LanguageCount(code=code, name=self._language_name(collection, code), passages=n)
            for code, n in counts.items()
        ]
        return sorted(languages, key=_alphabetical)

    def _language_name(self, collection: str, code: str) -> str | None:
        names = self._language_names.setdefault(collection, {})
        if code not in names:
            hits = self.store.find(collection, Filter(equals={"language": code}), limit=1)
            metadata = hits[0].payload.get("metadata") or {} if hits else {}
            names[code] = _name_of(code, metadata)
        return names[code]

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
        summary = index_records(
            documents,
            encoder=self.encoder,
            store=self.store,
            collection=collection,
            encode=self.passage_encoder(Priority.WRITE),
            sentence_vectors=self.sentence_vectors,
        )
        self.forget_languages(collection)
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
        self.forget_languages(collection)
        return found

    def delete_collection(self, collection: str) -> int:
        """Delete the collection; the passages it held. CollectionNotFoundError if missing."""
        points = self.store.count(collection)
        self.store.delete_collection(collection)
        self.forget_languages(collection)
        return points
