"""The embedded default backend: the Qdrant engine in-process (qdrant-edge), a shard per collection.

Layout under `data_dir`: `<name>/shard/` holds the engine's files (segments and write-ahead log)
and `<name>/collection.json` our metadata (the dimension and the vector quantisation). The
metadata is written last on create and removed first on delete, so a collection half-created or
half-deleted by a crash is never listed, and its directory is cleared when the name is created
again.

Durability: the engine appends every update to its write-ahead log before `update` returns and
replays the log on load, so acknowledged writes survive the process being killed; `close` also
flushes the segments. Only one store may open a `data_dir` at a time: a lock file says so early
and clearly (the engine would otherwise fail on its first locked log).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FacetRequest,
    FieldCondition,
    HasIdCondition,
    MatchAny,
    MatchValue,
    Modifier,
    PayloadSchemaType,
    PayloadSelector,
    QuantizationSearchParams,
    Query,
    QueryRequest,
    ScalarQuantizationConfig,
    ScalarType,
    ScrollRequest,
    SearchParams,
    SparseVector,
    UpdateOperation,
)
from qdrant_edge import Filter as EdgeFilter
from qdrant_edge import Point as EdgePoint

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
    StoreClosedError,
    StoreInUseError,
    Vector,
    check_dimension,
    check_encoder,
    check_hnsw_ef,
    check_quantization,
)
from app.store.fields import json_path
from app.store.groups import search_groups
from app.store.validation import (
    canonical_point_id,
    check_collection_name,
    check_facet_key,
    excluded_value_lists,
    match_any_values,
    vector_values,
)

LOCK_FILE = ".lock"
METADATA_FILE = "collection.json"
SHARD_DIR = "shard"
SCROLL_PAGE = 1_000
# What searches and `find` read of a payload (`retrieve` reads it whole).
LIGHT_PAYLOAD = PayloadSelector.Exclude(list(RETRIEVE_ONLY_FIELDS))


@dataclass(eq=False)
class _Collection:
    name: str
    dim: int
    shard: EdgeShard
    quantization: Quantization = "none"
    encoder: str | None = None
    lexical: bool = False  # holds the BM25 sparse vector (collections created since it exists)
    optimizing: threading.Lock = field(default_factory=threading.Lock)
    bulk_loads: int = 0  # `bulk_load` blocks open on it: writes leave the optimizer alone


class QdrantEdgeStore:
    """Collections as qdrant-edge shards under `data_dir`, reopened with all their data."""

    def __init__(
        self,
        data_dir: Path,
        *,
        quantization: Quantization = "none",
        hnsw_ef: int | None = None,
        payload_indexes: Mapping[str, PayloadIndexKind] | None = None,
    ) -> None:
        """`quantization` applies to collections this store creates; the others keep theirs.
        `hnsw_ef`: the search beam width (None: the engine's default). `payload_indexes`: further
        fields to index (besides `language` and `doc_id`) in every collection, those it opens
        included."""
        self._payload_indexes = dict(payload_indexes or {})
        self._quantization = check_quantization(quantization)
        self._hnsw_ef = check_hnsw_ef(hnsw_ef)
        self._root = data_dir
        self._root.mkdir(parents=True, exist_ok=True)
        self._registry_lock = threading.Lock()
        self._collections: dict[str, _Collection] = {}
        self._lock_file = _lock_directory(self._root)
        try:
            for metadata in sorted(self._root.glob(f"*/{METADATA_FILE}")):
                collection = _load_collection(metadata.parent)
                self._collections[collection.name] = collection
                _index_fields(collection.shard, self._payload_indexes)
        except BaseException:
            self.close()
            raise

    def create_collection(self, name: str, dim: int, encoder: str | None = None) -> None:
        check_collection_name(name)
        if dim < 1:
            raise ValueError(f"dimension must be positive, got {dim}")
        with self._registry_lock:
            existing = self._collections.get(name)
            if existing is not None:
                check_dimension(name, existing.dim, dim)
                check_encoder(name, existing.encoder, encoder)
                return
            directory = self._root / name
            if directory.exists():  # left over from an interrupted create or delete
                shutil.rmtree(directory)
            quantization = self._quantization
            shard = EdgeShard.create(str(directory / SHARD_DIR), _edge_config(dim, quantization))
            try:
                for key in INDEXED_FIELDS:
                    shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Keyword))
                _index_fields(shard, self._payload_indexes)
                shard.flush()
                _write_metadata(
                    directory,
                    {
                        "name": name,
                        "dim": dim,
                        "distance": "cosine",
                        "quantization": quantization,
                        "encoder": encoder,
                        "lexical": LEXICAL_VECTOR,
                    },
                )
            except BaseException:
                shard.close()
                raise
            self._collections[name] = _Collection(
                name, dim, shard, quantization, encoder, lexical=True
            )

    def delete_collection(self, name: str) -> None:
        with self._registry_lock:
            collection = self._collections.pop(name, None)
            if collection is None:
                raise CollectionNotFoundError(name)
            directory = self._root / name
            (directory / METADATA_FILE).unlink()
            collection.shard.close()
            shutil.rmtree(directory)

    def list_collections(self) -> list[CollectionInfo]:
        infos = []
        for name in sorted(self._collections):
            try:
                infos.append(self.collection_info(name))
            except CollectionNotFoundError:  # deleted by another thread meanwhile
                continue
        return infos

    def ping(self) -> None:
        """In process: answers while open (the data directory's lock held)."""
        if self._lock_file.closed:
            raise StoreClosedError(f"the store at {self._root} is closed")

    def dimension(self, name: str) -> int:
        with self._using(name) as collection:
            return collection.dim

    def encoder(self, name: str) -> str | None:
        with self._using(name) as collection:
            return collection.encoder

    def collection_info(self, name: str) -> CollectionInfo:
        with self._using(name) as collection:
            points = collection.shard.count(CountRequest(exact=True))
            return CollectionInfo(name, collection.dim, points, collection.encoder)

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        with self._using(collection) as target:
            batch = [
                EdgePoint(
                    canonical_point_id(point.id),
                    _point_vector(point, target),
                    dict(point.payload),
                )
                for point in points
            ]
            if batch:
                target.shard.update(UpdateOperation.upsert_points(batch))
                _optimize(target)

    @contextmanager
    def bulk_load(self, collection: str) -> Iterator[None]:
        """Writes to `collection` inside the block build no HNSW index; leaving it without an
        error builds it once, before returning. Otherwise every upsert that pushes a segment
        past the indexing threshold builds a graph there and then, on the writer's path, and
        segments merged later are indexed again. Searches meanwhile scan the points not yet
        indexed (exact, slower as they grow). After an error the next write catches up."""
        with self._using(collection) as target, self._registry_lock:
            target.bulk_loads += 1
        try:
            yield
        finally:
            with self._registry_lock:
                target.bulk_loads -= 1
                last = target.bulk_loads == 0
        if last:
            with target.optimizing:
                target.shard.optimize()

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        with self._using(collection) as target:
            point_ids: list[Any] = [canonical_point_id(point_id) for point_id in ids]
            if point_ids:
                target.shard.update(UpdateOperation.delete_points(point_ids))
                _optimize(target)

    def delete_where(self, collection: str, where: Filter) -> None:
        with self._using(collection) as target:
            everything = EdgeFilter()  # an empty conjunction holds for every point
            condition = _edge_filter(where) or everything
            target.shard.update(UpdateOperation.delete_points_by_filter(condition))
            _optimize(target)

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[Hit]:
        with self._using(collection) as target:
            wanted = list(dict.fromkeys(canonical_point_id(point_id) for point_id in ids))
            if not wanted:
                return []
            point_ids: list[Any] = wanted
            records = target.shard.retrieve(point_ids, with_payload=True, with_vector=False)
            found = {
                str(r.id): Hit(id=str(r.id), score=0.0, payload=r.payload or {}) for r in records
            }
            return [found[point_id] for point_id in wanted if point_id in found]

    def find(self, collection: str, where: Filter, limit: int = 10_000) -> list[Hit]:
        with self._using(collection) as target:
            hits: list[Hit] = []
            offset: Any = None
            while len(hits) < limit:
                request = ScrollRequest(
                    offset=offset,
                    limit=min(SCROLL_PAGE, limit - len(hits)),
                    filter=_edge_filter(where),
                    with_payload=LIGHT_PAYLOAD,
                    with_vector=False,
                )
                records, offset = target.shard.scroll(request)
                hits.extend(Hit(id=str(r.id), score=0.0, payload=r.payload or {}) for r in records)
                if offset is None:
                    break
            return hits

    def count(self, collection: str, where: Filter | None = None) -> int:
        with self._using(collection) as target:
            return target.shard.count(CountRequest(exact=True, filter=_edge_filter(where)))

    def facet(
        self, collection: str, key: str, where: Filter | None = None, exact: bool = True
    ) -> dict[str, int]:
        check_facet_key(key)
        with self._using(collection) as target:
            # Distinct values cannot outnumber points; asking for that many makes the answer whole.
            condition = _edge_filter(where)
            points = target.shard.count(CountRequest(exact=True, filter=condition))
            if points == 0:
                return {}
            request = FacetRequest(key=key, limit=points, exact=exact, filter=condition)
            response = target.shard.facet(request)
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
        with self._using(collection) as target:
            request = QueryRequest(
                limit=limit,
                query=Query.Nearest(vector_values(vector, target.dim)),
                filter=_edge_filter(where),
                with_payload=LIGHT_PAYLOAD if payload else False,
                with_vector=False,
                params=_search_params(target.quantization, self._hnsw_ef),
            )
            return _hits(target.shard.query(request))

    def has_lexical(self, name: str) -> bool:
        with self._using(name) as collection:
            return collection.lexical

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
        with self._using(collection) as target:
            if not target.lexical:
                raise LexicalIndexMissingError(collection)
            if not terms:
                return []
            request = QueryRequest(
                limit=limit,
                query=Query.Nearest(_sparse(terms), using=LEXICAL_VECTOR),
                filter=_edge_filter(where),
                with_payload=LIGHT_PAYLOAD if payload else False,
                with_vector=False,
            )
            return _hits(target.shard.query(request))

    def score_points(self, collection: str, vector: Vector, ids: Sequence[str]) -> list[Hit]:
        wanted: set[Any] = {canonical_point_id(point_id) for point_id in ids}
        if not wanted:
            return []
        with self._using(collection) as target:
            request = QueryRequest(
                limit=len(wanted),
                query=Query.Nearest(vector_values(vector, target.dim)),
                filter=EdgeFilter(must=[HasIdCondition(wanted)]),
                with_payload=False,
                with_vector=False,
                params=_search_params(target.quantization, self._hnsw_ef),
            )
            return _hits(target.shard.query(request))

    def search_groups(
        self,
        collection: str,
        vector: Vector,
        group_by: str,
        limit: int,
        where: Filter | None = None,
    ) -> list[GroupBest]:
        """qdrant-edge has no group search: over-fetch and group (app/store/groups.py)."""

        def search(query: Vector, wanted: int, condition: Filter) -> list[Hit]:
            return self.search(collection, query, wanted, condition)

        return search_groups(search, vector, group_by, limit, where)

    def close(self) -> None:
        with self._registry_lock:
            for collection in self._collections.values():
                collection.shard.flush()
                collection.shard.close()
            self._collections.clear()
            if not self._lock_file.closed:
                self._lock_file.close()  # releases the flock

    @contextmanager
    def _using(self, name: str) -> Iterator[_Collection]:
        """The collection's shard; an engine error raised because another thread deleted the
        collection meanwhile becomes CollectionNotFoundError."""
        collection = self._collections.get(name)
        if collection is None:
            raise CollectionNotFoundError(name)
        try:
            yield collection
        except Exception as error:
            if self._collections.get(name) is not collection:
                raise CollectionNotFoundError(name) from error
            raise


def _hits(points: Sequence[Any]) -> list[Hit]:
    return [Hit(id=str(p.id), score=p.score, payload=p.payload or {}) for p in points]


def _sparse(terms: SparseTerms) -> SparseVector:
    return SparseVector(list(terms.indices), list(terms.values))


def _point_vector(point: Point, collection: _Collection) -> Any:
    """The dense vector alone, or with the BM25 terms where the point has some and the
    collection keeps them."""
    dense = vector_values(point.vector, collection.dim)
    if not (collection.lexical and point.sparse):
        return dense
    return {"": dense, LEXICAL_VECTOR: _sparse(point.sparse)}


def _edge_config(dim: int, quantization: Quantization) -> EdgeConfig:
    lexical = {LEXICAL_VECTOR: EdgeSparseVectorParams(modifier=Modifier.Idf)}
    if quantization == "none":
        return EdgeConfig(
            vectors=EdgeVectorParams(size=dim, distance=Distance.Cosine), sparse_vectors=lexical
        )
    # The int8 copies stay in RAM; the fp32 originals are memory-mapped from disk (page cache)
    # and read only to rescore candidates. The engine builds the int8 copies when it optimises
    # a segment (past the indexing threshold); the newest, appendable segment stays fp32.
    return EdgeConfig(
        vectors=EdgeVectorParams(size=dim, distance=Distance.Cosine, on_disk=True),
        quantization_config=ScalarQuantizationConfig(
            type=ScalarType.Int8, quantile=INT8_QUANTILE, always_ram=True
        ),
        sparse_vectors=lexical,
    )


def _search_params(quantization: Quantization, hnsw_ef: int | None) -> SearchParams | None:
    """Rescoring must be asked for: without it qdrant-edge returns the int8 approximations."""
    if quantization == "none" and hnsw_ef is None:
        return None
    rescored = QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING)
    return SearchParams(hnsw_ef=hnsw_ef, quantization=None if quantization == "none" else rescored)


def _index_fields(shard: EdgeShard, indexes: Mapping[str, PayloadIndexKind]) -> None:
    """Create the payload indexes the shard lacks (an index of another kind is left as it is)."""
    # The engine names an index by its path, quoting only the keys it must (`metadata."a.b"` but
    # `metadata.文章`): without the quotes, a path is the field name it was made from.
    existing = {path.replace('"', "") for path in shard.info().payload_schema}
    for key, kind in indexes.items():
        if key not in existing:
            schema = PayloadSchemaType.Integer if kind == "integer" else PayloadSchemaType.Keyword
            shard.update(UpdateOperation.create_field_index(json_path(key), schema))


def _optimize(collection: _Collection) -> None:
    """Let the engine build the HNSW index for segments that outgrew its indexing threshold and
    vacuum deleted points. Edge runs no background optimizer, so the write path drives it; when
    there is nothing to do this takes microseconds. One thread at a time per collection, and
    none during a bulk load (`QdrantEdgeStore.bulk_load` optimises once at its end)."""
    if collection.bulk_loads == 0 and collection.optimizing.acquire(blocking=False):
        try:
            collection.shard.optimize()
        finally:
            collection.optimizing.release()


def _edge_filter(where: Filter | None) -> EdgeFilter | None:
    if where is None or where.is_empty():
        return None
    must: list[Any] = [
        FieldCondition(json_path(key), match=MatchValue(value))
        for key, value in where.equals.items()
    ]
    must += [
        FieldCondition(json_path(key), match=MatchAny(match_any_values(key, values)))
        for key, values in where.any_of.items()
    ]
    must_not: list[Any] = [
        FieldCondition(json_path(key), match=MatchValue(value))
        for key, value in where.not_equals.items()
    ]
    must_not += [
        FieldCondition(json_path(key), match=MatchAny(values))
        for key, excluded in where.none_of.items()
        for values in excluded_value_lists(excluded)
    ]
    must_not += [FieldCondition(json_path(key), is_empty=True) for key in where.present]
    return EdgeFilter(must=must or None, must_not=must_not or None)


def _lock_directory(directory: Path) -> TextIO:
    """An exclusive lock on `directory`, held while the returned file stays open (the OS drops it
    when the process dies, so a killed process leaves no stale lock)."""
    lock_file = (directory / LOCK_FILE).open("a", encoding="utf-8")
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        lock_file.close()
        raise StoreInUseError(directory) from error
    return lock_file


def _load_collection(directory: Path) -> _Collection:
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    try:  # metadata written before quantisation was configurable has no key: none
        quantization = check_quantization(metadata.get("quantization", "none"))
    except ValueError as error:
        raise RuntimeError(f"cannot open the collection stored in {directory}: {error}") from error
    try:
        shard = EdgeShard.load(str(directory / SHARD_DIR))
    except Exception as error:  # the engine raises bare Exception, e.g. when the log is locked
        raise RuntimeError(f"cannot open the collection stored in {directory}: {error}") from error
    return _Collection(
        name=directory.name,
        dim=int(metadata["dim"]),
        shard=shard,
        quantization=quantization,
        encoder=metadata.get("encoder"),  # None in metadata written before it was recorded
        lexical=metadata.get("lexical") == LEXICAL_VECTOR,  # absent before lexical search
    )


def _write_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    """Write atomically and durably: a crash leaves either no file or the whole file."""
    target = directory / METADATA_FILE
    temporary = directory / f".{METADATA_FILE}.tmp"
    with temporary.open("w", encoding="utf-8") as file:
        json.dump(metadata, file)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(target)
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
