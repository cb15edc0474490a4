"""The vector-store interface every backend implements.

Point ids are UUID strings (the indexer derives them deterministically). Payloads are flat
JSON-able dicts; the fields `language` and `doc_id` are indexed for filtering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast, get_args

import numpy as np
import numpy.typing as npt

from app.lexical.bm25 import SparseTerms
from app.settings import Quantization

Vector = npt.NDArray[np.float32]
PayloadValue = str | int
INDEXED_FIELDS = ("language", "doc_id")
# The kinds of payload index a setting may ask for on further fields (`Settings.payload_indexes`).
PayloadIndexKind = Literal["keyword", "integer"]
# int8 scalar quantisation (`Settings.vector_quantization`): the quantile of each collection's
# values that maps to the int8 range, and how many candidates per requested hit a search takes
# from the quantised vectors before rescoring them with the fp32 originals.
INT8_QUANTILE = 0.99
RESCORE_OVERSAMPLING = 2.0
# The named sparse vector that holds each point's BM25 terms (app/lexical), beside the unnamed
# dense one; the store applies the inverse document frequency (the IDF modifier).
LEXICAL_VECTOR = "bm25"
# Payload fields that searches and `find` leave out: a passage's sentence vectors
# (app/highlights/payload.py), kilobytes that only the few hits shown need, read with
# `retrieve`.
RETRIEVE_ONLY_FIELDS = ("sentences",)


@dataclass(frozen=True)
class Point:
    id: str
    vector: Vector
    payload: dict[str, Any]
    sparse: SparseTerms | None = None  # BM25 terms; None or empty: not found by lexical search


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class GroupBest:
    """A group of a grouped search: its value of the `group_by` field and its best point."""

    value: PayloadValue
    hit: Hit


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    dim: int
    points: int
    encoder: str | None = None  # the model whose vectors it holds; None: not recorded


@dataclass(frozen=True)
class Filter:
    """Conjunction of simple conditions on payload fields."""

    equals: Mapping[str, PayloadValue] = field(default_factory=dict)
    not_equals: Mapping[str, PayloadValue] = field(default_factory=dict)
    any_of: Mapping[str, Sequence[PayloadValue]] = field(default_factory=dict)
    none_of: Mapping[str, Sequence[PayloadValue]] = field(default_factory=dict)
    present: Sequence[str] = ()  # fields that must hold a value (not missing, null or [])

    def is_empty(self) -> bool:
        return not (self.equals or self.not_equals or self.any_of or self.none_of or self.present)


def check_quantization(quantization: str) -> Quantization:
    """The value itself; ValueError unless it is a known `Quantization`."""
    if quantization not in get_args(Quantization):
        raise ValueError(f"unknown vector quantization {quantization!r}")
    return cast(Quantization, quantization)


def check_hnsw_ef(hnsw_ef: int | None) -> int | None:
    """The value itself; ValueError unless None or positive."""
    if hnsw_ef is not None and hnsw_ef < 1:
        raise ValueError(f"hnsw_ef must be positive, got {hnsw_ef}")
    return hnsw_ef


class CollectionNotFoundError(KeyError):
    """Raised for an operation on a collection that does not exist."""


class StoreClosedError(RuntimeError):
    """The store has been closed: it answers nothing more."""


class StoreInUseError(RuntimeError):
    """The embedded store's directory is open in another process (or store object): one writer
    at a time."""

    def __init__(self, directory: object) -> None:
        super().__init__(
            f"{directory} is already open in another store or process (a running service?): "
            "stop it, index through its API (POST /v1/collections/NAME/documents), or set "
            "POLYSEARCH_DATA_DIR to another directory"
        )


class EncoderMismatchError(ValueError):
    """A collection holds the vectors of another model than the one asked to read or write it:
    their vectors share a dimension but not a space, so every score would be meaningless."""

    def __init__(self, collection: str, stored: str, asked: str) -> None:
        super().__init__(
            f"collection {collection!r} holds vectors of the model {stored!r}, not {asked!r}: "
            f"serve {stored!r} to use it, or index into another collection"
        )
        self.collection, self.stored, self.asked = collection, stored, asked


class LexicalIndexMissingError(ValueError):
    """A lexical or hybrid search on a collection created before points carried BM25 terms."""

    def __init__(self, collection: str) -> None:
        super().__init__(
            f"collection {collection!r} was created without a lexical (BM25) index, so it can "
            "only be searched with mode 'dense'. To search it by words, delete it (DELETE "
            f"/v1/collections/{collection}) and index its documents again (python -m indexer, "
            f"or POST them to /v1/collections/{collection}/documents)"
        )
        self.collection = collection


class DimensionMismatchError(ValueError):
    """A collection exists with another vector dimension than the one asked to write it."""

    def __init__(self, collection: str, stored: int, asked: int) -> None:
        super().__init__(
            f"collection {collection!r} holds vectors of dimension {stored}, not {asked}: "
            "use another collection for this model"
        )
        self.collection, self.stored, self.asked = collection, stored, asked


def check_dimension(collection: str, stored: int, asked: int) -> None:
    """DimensionMismatchError unless the collection's vectors have the dimension asked for."""
    if stored != asked:
        raise DimensionMismatchError(collection, stored, asked)


def check_encoder(collection: str, stored: str | None, asked: str | None) -> None:
    """EncoderMismatchError when both models are known and differ. Collections created before
    the model was recorded (None) are taken on trust."""
    if stored is not None and asked is not None and stored != asked:
        raise EncoderMismatchError(collection, stored, asked)


class VectorStore(Protocol):
    """What the service and the indexer need from a vector database (cosine similarity)."""

    def create_collection(self, name: str, dim: int, encoder: str | None = None) -> None:
        """Create the collection (with payload indexes) if missing, recording `encoder`, the
        model whose vectors it will hold; a no-op if it exists with this dimension and model;
        DimensionMismatchError if it exists with another dimension, EncoderMismatchError with
        another model; InvalidCollectionNameError (app/store/validation.py) for a bad name."""

    def delete_collection(self, name: str) -> None:
        """CollectionNotFoundError if missing."""

    def list_collections(self) -> list[CollectionInfo]: ...

    def ping(self) -> None:
        """Raises unless the store answers: a readiness check, so one round trip at most and no
        counting (`list_collections` counts every collection's points, O(points))."""

    def collection_info(self, name: str) -> CollectionInfo:
        """CollectionNotFoundError if missing."""

    def dimension(self, name: str) -> int:
        """The collection's vector size, without counting its points (cheap enough for every
        search); CollectionNotFoundError if missing."""

    def encoder(self, name: str) -> str | None:
        """The model recorded at creation (None if not recorded), as cheap as `dimension`;
        CollectionNotFoundError if missing."""

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        """Insert or replace points by id. Durable when it returns."""

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def delete_where(self, collection: str, where: Filter) -> None: ...

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[Hit]:
        """Points by id (score 0.0), missing ids skipped, with their whole payload (the other
        reads leave out `RETRIEVE_ONLY_FIELDS`)."""

    def find(self, collection: str, where: Filter, limit: int = 10_000) -> list[Hit]:
        """Points matching a filter (score 0.0), ordered by id."""

    def count(self, collection: str, where: Filter | None = None) -> int: ...

    def facet(
        self, collection: str, key: str, where: Filter | None = None, exact: bool = True
    ) -> dict[str, int]:
        """How many points (of those matching `where`) carry each value of an indexed keyword
        field. `exact=False` lets Qdrant count per segment (much faster under a selective filter:
        0.2 ms instead of 45 ms for one UDHR article's 527 languages); the values are the same,
        a count may be off while a point is being moved between segments."""

    def search(
        self,
        collection: str,
        vector: Vector,
        limit: int,
        where: Filter | None = None,
        payload: bool = True,
    ) -> list[Hit]:
        """Nearest points by cosine similarity, best first; `payload=False`: ids and scores only
        (empty payloads), for candidates of which only a few will be shown."""

    def has_lexical(self, name: str) -> bool:
        """Whether the collection keeps BM25 terms (created with the lexical index), as cheap as
        `dimension`; CollectionNotFoundError if missing."""

    def search_lexical(
        self,
        collection: str,
        terms: SparseTerms,
        limit: int,
        where: Filter | None = None,
        payload: bool = True,
    ) -> list[Hit]:
        """Points sharing terms with the query, best BM25 score first (points sharing none are
        not returned); LexicalIndexMissingError if the collection has no lexical index.
        `payload` as for `search`."""

    def score_points(self, collection: str, vector: Vector, ids: Sequence[str]) -> list[Hit]:
        """The cosine similarity of each of these points to `vector`, best first (missing ids
        skipped), without payloads."""

    def search_groups(
        self,
        collection: str,
        vector: Vector,
        group_by: str,
        limit: int,
        where: Filter | None = None,
    ) -> list[GroupBest]:
        """The best point of each of the `limit` best groups, best first: a group is the points
        sharing one value of the payload field `group_by`, as Qdrant groups (a string or an
        integer; a point whose field is a list of them belongs to the group of each, so it may
        be the best of several; points with no such value belong to none). Fewer only when
        fewer groups match `where`."""

    def close(self) -> None: ...


class ReadThroughStore:
    """A wrapper of a VectorStore that reads from it (`self.inner`) unchanged; subclasses say
    what happens to writes (`app/backup.py`'s gate, the benchmark's mirror)."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner = inner

    def list_collections(self) -> list[CollectionInfo]:
        return self.inner.list_collections()

    def ping(self) -> None:
        self.inner.ping()

    def collection_info(self, name: str) -> CollectionInfo:
        return self.inner.collection_info(name)

    def dimension(self, name: str) -> int:
        return self.inner.dimension(name)

    def encoder(self, name: str) -> str | None:
        return self.inner.encoder(name)

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[Hit]:
        return self.inner.retrieve(collection, ids)

    def find(self, collection: str, where: Filter, limit: int = 10_000) -> list[Hit]:
        return self.inner.find(collection, where, limit)

    def count(self, collection: str, where: Filter | None = None) -> int:
        return self.inner.count(collection, where)

    def facet(
        self, collection: str, key: str, where: Filter | None = None, exact: bool = True
    ) -> dict[str, int]:
        return self.inner.facet(collection, key, where, exact)

    def search(
        self,
        collection: str,
        vector: Vector,
        limit: int,
        where: Filter | None = None,
        payload: bool = True,
    ) -> list[Hit]:
        return self.inner.search(collection, vector, limit, where, payload)

    def has_lexical(self, name: str) -> bool:
        return self.inner.has_lexical(name)

    def search_lexical(
        self,
        collection: str,
        terms: SparseTerms,
        limit: int,
        where: Filter | None = None,
        payload: bool = True,
    ) -> list[Hit]:
        return self.inner.search_lexical(collection, terms, limit, where, payload)

    def score_points(self, collection: str, vector: Vector, ids: Sequence[str]) -> list[Hit]:
        return self.inner.score_points(collection, vector, ids)

    def search_groups(
        self,
        collection: str,
        vector: Vector,
        group_by: str,
        limit: int,
        where: Filter | None = None,
    ) -> list[GroupBest]:
        return self.inner.search_groups(collection, vector, group_by, limit, where)
