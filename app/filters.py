"""The `filter` and `group_by` of a search request: which payload fields they may name, and the
store `Filter` a request's filter becomes.

A filter is a JSON object of conditions that must all hold, one per field:
`{"metadata.article": 20}` (equality) or `{"doc_id": {"any": ["a", "b"]}}` (any of). Values are
strings or integers, compared with their type: `20` does not match a stored `"20"`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.documents.record import MAX_METADATA_KEY_CHARS
from app.store.base import Filter, PayloadValue
from app.store.validation import check_payload_int

# Fields a filter or group_by may name: the indexed top-level ones and any metadata key (in any
# script, dots and spaces included: app/store/fields.py) but those Qdrant cannot name.
TOP_LEVEL_FIELDS = ("doc_id", "language")
_METADATA_FIELD = re.compile(
    rf'metadata\.[^"\\\x00-\x1f\x7f\ud800-\udfff]{{1,{MAX_METADATA_KEY_CHARS}}}'
)
OPERATORS = ("any",)
MAX_FILTER_FIELDS = 16
MAX_ANY_VALUES = 256


_VALUE_SCHEMAS: list[dict[str, Any]] = [
    {"type": "string"},
    # OpenAPI's 64-bit integer; bounds as numbers would be rounded to floats (2**63) on the way
    # into the OpenAPI document.
    {"type": "integer", "format": "int64"},
]
# The rules below as JSON Schema, for the OpenAPI document (clients, the API fuzz test); what
# it cannot enforce `parse_filter` still checks: the character rule of strings, and the 64-bit
# bound (`format: int64` is a note to validators, not a check).
FILTER_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": MAX_FILTER_FIELDS,
    "propertyNames": {"pattern": f"^(?:{'|'.join(TOP_LEVEL_FIELDS)}|{_METADATA_FIELD.pattern})$"},
    "additionalProperties": {
        "anyOf": [
            *_VALUE_SCHEMAS,
            {
                "type": "object",
                "properties": {
                    "any": {
                        "anyOf": [
                            {
                                "type": "array",
                                "items": value,
                                "minItems": 1,
                                "maxItems": MAX_ANY_VALUES,
                            }
                            for value in _VALUE_SCHEMAS
                        ]
                    }
                },
                "required": ["any"],
                "additionalProperties": False,
            },
        ]
    },
}


def check_field(key: str) -> str:
    """The key itself; ValueError unless it is `doc_id`, `language` or `metadata.KEY` (KEY: a
    metadata key of 1-128 characters, without '"', '\\', control characters or lone
    surrogates)."""
    if key in TOP_LEVEL_FIELDS or _METADATA_FIELD.fullmatch(key):
        return key
    raise ValueError(
        f"cannot filter or group on {key!r}: use 'doc_id', 'language' or 'metadata.KEY' "
        f"(KEY: a metadata key of 1-{MAX_METADATA_KEY_CHARS} characters, without '\"', '\\', "
        "control characters or lone surrogates)"
    )


def _value(key: str, value: Any) -> PayloadValue:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return check_payload_int(value)
        except ValueError as error:
            raise ValueError(f"{key!r}: {error}") from None
    raise ValueError(
        f"{key!r}: a value must be a string or an integer, not {type(value).__name__} ({value!r})"
    )


def parse_filter(conditions: Mapping[str, Any]) -> Filter:
    """The store filter of a request's `filter` object; ValueError, with the field named, for an
    unknown field or operator, a value of another type, or too many fields or values."""
    if not conditions:
        raise ValueError("give at least one condition, or leave the filter out")
    if len(conditions) > MAX_FILTER_FIELDS:
        raise ValueError(f"at most {MAX_FILTER_FIELDS} fields, got {len(conditions)}")
    equals: dict[str, PayloadValue] = {}
    any_of: dict[str, list[PayloadValue]] = {}
    for key, condition in conditions.items():
        check_field(key)
        if not isinstance(condition, Mapping):
            equals[key] = _value(key, condition)
            continue
        unknown = sorted(set(condition) - set(OPERATORS))
        if unknown or not condition:
            raise ValueError(
                f"{key!r}: unknown operator {unknown[0] if unknown else '(none)'!r}; "
                'give a value for equality or {"any": [values]} for any of them'
            )
        values = condition["any"]
        if not isinstance(values, list) or not values:
            raise ValueError(f'{key!r}: "any" takes a non-empty list of values')
        if len(values) > MAX_ANY_VALUES:
            raise ValueError(f'{key!r}: "any" takes at most {MAX_ANY_VALUES} values')
        checked = [_value(key, value) for value in values]
        if len({type(value) for value in checked}) > 1:
            raise ValueError(f'{key!r}: "any" mixes strings and integers')
        any_of[key] = checked
    return Filter(equals=equals, any_of=any_of)
