"""The backend for a Qdrant server or cluster, through qdrant-client (`QdrantClient(url=...)`).

Tests drive it through the client's local mode (`QdrantClient(location=":memory:")`), which speaks
the same API but ignores payload indexes and quantisation (it keeps no quantisation config and
searches exactly) and must not be shared by several writing threads.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from qdrant_client import QdrantClient, models

from app.lexical.bm25 import SparseTerms
from app.settings import Quantization
from app.store.base import (
    INDEXED_FIELDS,
    INT8_QUANTILE,
    LEXICAL_VECTOR,
    RESCORE_OVERSAMPLING,
    RETRIEVE_ONLY_FIELDS,
    CollectionInfo,
    CollectionNotFoundError,
    Filter,
    GroupBest,
    Hit,
    LexicalIndexMissingError,
    PayloadIndexKind,
    Point,
    Vector,
    check_dimension,
    check_encoder,
    check_hnsw_ef,
    check_quantization,
)
from app.store.fields import json_path
from app.store.validation import (
    canonical_point_id,
    check_collection_name,
    check_facet_key,
    excluded_value_lists,
    match_any_values,
    vector_values,
)

SCROLL_PAGE = 1_000
# What searches and `find` read of a payload (`retrieve` reads it whole).
LIGHT_PAYLOAD = models.PayloadSelectorExclude(exclude=list(RETRIEVE_ONLY_FIELDS))
ENCODER_KEY = "polysearch_encoder"  # in the collection's metadata: the model of its vectors
INT8 = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(
        type=models.ScalarType.INT8, quantile=INT8_QUANTILE, always_ram=True
    )
)
PAYLOAD_SCHEMAS = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
}
RESCORED = models.QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING)
LEXICAL = {LEXICAL_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)}


@dataclass(frozen=True)
class _Known:
    dim: int
    quantized: bool
    encoder: str | None
    lexical: bool = False


class QdrantClientStore:
    """Collections on a Qdrant server: one unnamed cosine vector each, keyword-indexed fields."""

    def __init__(
        self,
        client: QdrantClient,
        shards: int = 1,
        replicas: int = 1,
        *,
        quantization: Quantization = "none",
        hnsw_ef: int | None = None,
        payload_indexes: Mapping[str, PayloadIndexKind] | None = None,
    ) -> None:
        """`shards`, `replicas` and `quantization` apply to collections this store creates;
        `hnsw_ef` is the search beam width (None: the server's default); `payload_indexes`:
        further fields to index (besides `language` and `doc_id`), created with the collection
        or added to it when `create_collection` names it again."""
        self._payload_indexes = dict(payload_indexes or {})
        if shards < 1 or replicas < 1:
            raise ValueError(f"shards and replicas must be positive, got {shards}, {replicas}")
        self._client = client
        self._shards = shards
        self._replicas = replicas
        self._quantization = check_quantization(quantization)
        self._hnsw_ef = check_hnsw_ef(hnsw_ef)
        # What each collection seen so far is (its dimension, to refuse a wrong vector before
        # sending it; whether it keeps quantised vectors); re-read on doubt.
        self._known: dict[str, _Known] = {}

    def create_collection(self, name: str, dim: int, encoder: str | None = None) -> None:
        check_collection_name(name)
        if dim < 1:
            raise ValueError(f"dimension must be positive, got {dim}")
        if not self._client.collection_exists(name):
            int8 = self._quantization == "int8"
            try:
                self._client.create_collection(
                    name,
                    vectors_config=models.VectorParams(
                        size=dim,
                        distance=models.Distance.COSINE,
                        on_disk=True if int8 else None,  # int8: fp32 originals only to rescore
                    ),
                    sparse_vectors_config=LEXICAL,
                    shard_number=self._shards,
                    replication_factor=self._replicas,
                    quantization_config=INT8 if int8 else None,
                    metadata={ENCODER_KEY: encoder} if encoder else None,
                )
            except Exception:
                if not self._client.collection_exists(name):
                    raise  # not a lost race with another creator: a real failure
        existing = self._described(name, fresh=True)
        check_dimension(name, existing.dim, dim)
        check_encoder(name, existing.encoder, encoder)
        with warnings.catch_warnings():  # local mode warns that it ignores payload indexes
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            indexes = {key: models.PayloadSchemaType.KEYWORD for key in INDEXED_FIELDS}
            for key, kind in self._payload_indexes.items():
                indexes.setdefault(key, PAYLOAD_SCHEMAS[kind])
            for key, schema in indexes.items():  # idempotent; also repairs a creation cut short
                self._client.create_payload_index(
                    name, json_path(key), field_schema=schema, wait=True
                )

    def delete_collection(self, name: str) -> None:
        self._known.pop(name, None)
        if not self._client.delete_collection(name):
            raise CollectionNotFoundError(name)

    def list_collections(self) -> list[CollectionInfo]:
        infos = []
        for description in sorted(self._client.get_collections().collections, key=_by_name):
            try:
                infos.append(self.collection_info(description.name))
            except CollectionNotFoundError:  # deleted meanwhile
                continue
        return infos

    def ping(self) -> None:
        self._client.get_collections()  # one round trip; raises when the server is away

    def dimension(self, name: str) -> int:
        return self._described(name).dim  # cached after the first call: no round trip per search

    def encoder(self, name: str) -> str | None:
        return self._described(name).encoder  # cached, like the dimension

    def collection_info(self, name: str) -> CollectionInfo:
        known = self._described(name, fresh=True)
        return CollectionInfo(name, known.dim, self.count(name), known.encoder)

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        batch = [
            models.PointStruct(
                id=canonical_point_id(point.id),
                vector=self._point_vector(collection, point),
                payload=dict(point.payload),
            )
            for point in points
        ]
        if batch:
            with self._errors(collection):
                self._client.upsert(collection, batch, wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        point_ids: list[models.ExtendedPointId] = [canonical_point_id(i) for i in ids]
        with self._errors(collection):
            self._client.delete(collection, models.PointIdsList(points=point_ids), wait=True)

    def delete_where(self, collection: str, where: Filter) -> None:
        selector = models.FilterSelector(filter=_qdrant_filter(where) or models.Filter())
        with self._errors(collection):
            self._client.delete(collection, selector, wait=True)

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[Hit]:
        wanted = list(dict.fromkeys(canonical_point_id(point_id) for point_id in ids))
        point_ids: list[models.ExtendedPointId] = list(wanted)
        with self._errors(collection):
            records = self._client.retrieve(collection, point_ids, with_payload=True)
        found = {str(r.id): Hit(id=str(r.id), score=0.0, payload=r.payload or {}) for r in records}
        return [found[point_id] for point_id in wanted if point_id in found]

    def find(self, collection: str, where: Filter, limit: int = 10_000) -> list[Hit]:
        hits: list[Hit] = []
        offset: models.ExtendedPointId | None = None
        with self._errors(collection):
            while len(hits) < limit:
                records, offset = self._client.scroll(
                    collection,
                    scroll_filter=_qdrant_filter(where),
                    limit=min(SCROLL_PAGE, limit - len(hits)),
                    offset=offset,
                    with_payload=LIGHT_PAYLOAD,
                )
                hits.extend(Hit(id=str(r.id), score=0.0, payload=r.payload or {}) for r in records)
                if offset is None:
                    break
        return hits

    def count(self, collection: str, where: Filter | None = None) -> int:
        with self._errors(collection):
            return self._client.count(collection, _qdrant_filter(where), exact=True).count

    def facet(
        self, collection: str, key: str, where: Filter | None = None, exact: bool = True
    ) -> dict[str, int]:
        check_facet_key(key)
        # Distinct values cannot outnumber points; asking for that many makes the answer whole.
        points = self.count(collection, where)
        if points == 0:
            return {}
        with self._errors(collection):
            response = self._client.facet(
                collection, key, facet_filter=_qdrant_filter(where), limit=points, exact=exact
            )
        return {str(hit.value): hit.count for hit in response.hits}

    def search(
        self,
        collection: str,
        vector: Vector,
        limit: int,
        where: Filter | None = None,
        payload: bool = True,
    ) -> list[Hit]:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        query = self._values(collection, vector)
        with self._errors(collection):
            response = self._client.query_points(
                collection,
                query=query,
                query_filter=_qdrant_filter(where),
                limit=limit,
                with_payload=LIGHT_PAYLOAD if payload else False,
                search_params=self._search_params(collection),
            )
        return _hits(response.points)

    def has_lexical(self, name: str) -> bool:
        return self._described(name).lexical

    def search_lexical(
        self,
        collection: str,
        terms: SparseTerms,
        limit: int,
        where: Filter | None = None,
        payload: bool = True,
    ) -> list[Hit]:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        if not self.has_lexical(collection) and not self._described(collection, fresh=True).lexical:
            raise LexicalIndexMissingError(collection)
        if not terms:
            return []
        with self._errors(collection):
            response = self._client.query_points(
                collection,
                query=_sparse(terms),
                using=LEXICAL_VECTOR,
                query_filter=_qdrant_filter(where),
                limit=limit,
                with_payload=LIGHT_PAYLOAD if payload else False,
            )
        return _hits(response.points)

    def score_points(self, collection: str, vector: Vector, ids: Sequence[str]) -> list[Hit]:
        wanted: list[models.ExtendedPointId] = list({canonical_point_id(i) for i in ids})
        if not wanted:
            return []
        query = self._values(collection, vector)
        with self._errors(collection):
            response = self._client.query_points(
                collection,
                query=query,
                query_filter=models.Filter(must=[models.HasIdCondition(has_id=wanted)]),
                limit=len(wanted),
                with_payload=False,
                search_params=self._search_params(collection),
            )
        return _hits(response.points)

    def _point_vector(self, collection: str, point: Point) -> Any:
        """The dense vector alone, or with the BM25 terms where the point has some and the
        collection keeps them."""
        dense = self._values(collection, point.vector)
        if not (point.sparse and self._described(collection).lexical):
            return dense
        return {"": dense, LEXICAL_VECTOR: _sparse(point.sparse)}

    def search_groups(
        self,
        collection: str,
        vector: Vector,
        group_by: str,
        limit: int,
        where: Filter | None = None,
    ) -> list[GroupBest]:
        """Qdrant's own group search (one point per group)."""
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        query = self._values(collection, vector)
        with self._errors(collection):
            response = self._client.query_points_groups(
                collection,
                group_by=json_path(group_by),
                query=query,
                query_filter=_qdrant_filter(where),
                limit=limit,
                group_size=1,
                with_payload=LIGHT_PAYLOAD,
                search_params=self._search_params(collection),
            )
        return [
            GroupBest(group.id, Hit(id=str(p.id), score=p.score, payload=p.payload or {}))
            for group in response.groups
            for p in group.hits[:1]
        ]

    def _search_params(self, collection: str) -> models.SearchParams | None:
        known = self._known.get(collection)
        quantized = known is not None and known.quantized
        if not quantized and self._hnsw_ef is None:
            return None
        return models.SearchParams(
            hnsw_ef=self._hnsw_ef, quantization=RESCORED if quantized else None
        )

    def close(self) -> None:
        self._client.close()

    def _described(self, collection: str, *, fresh: bool = False) -> _Known:
        """What the collection is (read from the server once, then cached; `fresh` re-reads)."""
        if fresh or collection not in self._known:
            with self._errors(collection):
                config = self._client.get_collection(collection).config
            vectors = config.params.vectors
            if not isinstance(vectors, models.VectorParams):
                raise ValueError(f"collection {collection!r} does not hold one unnamed vector")
            quantized = (
                config.quantization_config is not None or vectors.quantization_config is not None
            )
            encoder = (config.metadata or {}).get(ENCODER_KEY)
            lexical = LEXICAL_VECTOR in (config.params.sparse_vectors or {})
            self._known[collection] = _Known(vectors.size, quantized, encoder, lexical)
        return self._known[collection]

    def _values(self, collection: str, vector: Vector) -> list[float]:
        """The vector checked against the collection's dimension, re-read once before refusing
        (another process may have recreated the collection)."""
        try:
            return vector_values(vector, self._described(collection).dim)
        except ValueError:
            return vector_values(vector, self._described(collection, fresh=True).dim)

    @contextmanager
    def _errors(self, collection: str) -> Iterator[None]:
        """Turns any failure on a collection that does not exist into CollectionNotFoundError (the
        server answers 404, local mode raises ValueError)."""
        try:
            yield
        except CollectionNotFoundError:
            raise
        except Exception as error:
            if not self._client.collection_exists(collection):
                self._known.pop(collection, None)
                raise CollectionNotFoundError(collection) from error
            raise


def _hits(points: Sequence[models.ScoredPoint]) -> list[Hit]:
    return [Hit(id=str(p.id), score=p.score, payload=p.payload or {}) for p in points]


def _sparse(terms: SparseTerms) -> models.SparseVector:
    return models.SparseVector(indices=list(terms.indices), values=list(terms.values))


def _by_name(description: models.CollectionDescription) -> str:
    return description.name


def _qdrant_filter(where: Filter | None) -> models.Filter | None:
    if where is None or where.is_empty():
        return None
    must: list[Any] = [
        models.FieldCondition(key=json_path(key), match=models.MatchValue(value=value))
        for key, value in where.equals.items()
    ]
    must += [
        models.FieldCondition(
            key=json_path(key), match=models.MatchAny(any=match_any_values(key, values))
        )
        for key, values in where.any_of.items()
    ]
    must_not: list[Any] = [
        models.FieldCondition(key=json_path(key), match=models.MatchValue(value=value))
        for key, value in where.not_equals.items()
    ]
    must_not += [
        models.FieldCondition(key=json_path(key), match=models.MatchAny(any=values))
        for key, excluded in where.none_of.items()
        for values in excluded_value_lists(excluded)
    ]
    must_not += [
        models.IsEmptyCondition(is_empty=models.PayloadField(key=json_path(key)))
        for key in where.present
    ]
    return models.Filter(must=must or None, must_not=must_not or None)
