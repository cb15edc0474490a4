"""Input rules shared by every backend, so that all of them accept and refuse the same input.

Collection names become directory names in the embedded store, so they are kept to a safe
alphabet; point ids are UUIDs in Qdrant, returned in their canonical form; vectors must have the
collection's dimension and finite values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import numpy as np

from app.store.base import INDEXED_FIELDS, PayloadValue, Vector

# The one collection-name rule: the HTTP API's path and body patterns use this pattern, both
# stores call `check_collection_name`, so a name the API accepts is one every store takes.
COLLECTION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
COLLECTION_NAME_RULE = "1-128 ASCII letters, digits, '_' or '-', starting with a letter or digit"
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)
# Qdrant keeps an integer payload value as a signed 64-bit integer: a larger one is stored as a
# float (99999999999999999999999 comes back as 1e+23) or, in a filter, fails inside the engine.
# Such integers are refused where they come in, in documents' metadata and in filters.
PAYLOAD_INT_MIN = -(2**63)
PAYLOAD_INT_MAX = 2**63 - 1


class InvalidCollectionNameError(ValueError):
    """A collection name outside `COLLECTION_NAME_RULE`."""


def check_collection_name(name: str) -> str:
    """The name itself; InvalidCollectionNameError unless it follows `COLLECTION_NAME_RULE`."""
    if not _COLLECTION_NAME.fullmatch(name):
        raise InvalidCollectionNameError(
            f"invalid collection name {name!r}: use {COLLECTION_NAME_RULE}"
        )
    return name


def canonical_point_id(point_id: str) -> str:
    """The canonical lower-case UUID string; ValueError if `point_id` is not a UUID."""
    try:
        return str(uuid.UUID(point_id))
    except (ValueError, AttributeError, TypeError) as error:
        raise ValueError(f"point id {point_id!r} is not a UUID string") from error


def check_payload_int(value: int) -> int:
    """The value itself; ValueError unless it fits Qdrant's 64-bit payload integers."""
    if not PAYLOAD_INT_MIN <= value <= PAYLOAD_INT_MAX:
        raise ValueError(
            f"{value} does not fit a 64-bit integer ({PAYLOAD_INT_MIN} to {PAYLOAD_INT_MAX}); "
            "store a number this large as a string"
        )
    return value


def vector_values(vector: Vector, dim: int) -> list[float]:
    """The vector as a list of floats; ValueError if its shape is not (dim,) or a value is not
    finite."""
    array = np.asarray(vector, dtype=np.float32)
    if array.shape != (dim,):
        raise ValueError(f"vector has shape {array.shape}, the collection expects ({dim},)")
    if not np.isfinite(array).all():
        raise ValueError("vector has a NaN or infinite value")
    values: list[float] = array.tolist()
    return values


def check_facet_key(key: str) -> str:
    """The key itself; ValueError unless it is an indexed keyword field (Qdrant facets need one)."""
    if key not in INDEXED_FIELDS:
        raise ValueError(f"cannot facet on {key!r}: only on the indexed fields {INDEXED_FIELDS}")
    return key


def match_any_values(key: str, values: Sequence[PayloadValue]) -> list[str] | list[int]:
    """The values of an `any_of` condition as one list of a single type, as Qdrant's match-any
    takes; ValueError if strings and integers are mixed."""
    strings = [value for value in values if isinstance(value, str)]
    integers = [value for value in values if not isinstance(value, str)]
    if strings and integers:
        raise ValueError(f"any_of[{key!r}] mixes strings and integers")
    return strings or integers


def excluded_value_lists(values: Sequence[PayloadValue]) -> list[list[str] | list[int]]:
    """The values of a `none_of` condition as one list per type (strings, integers), each for one
    match-any condition under `must_not`: unlike `any_of`, excluding both kinds is meaningful."""
    strings = [value for value in values if isinstance(value, str)]
    integers = [value for value in values if not isinstance(value, str)]
    lists: list[list[str] | list[int]] = [strings] if strings else []
    return [*lists, integers] if integers else lists
