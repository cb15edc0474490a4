"""The OpenAPI document's schema of a search `filter` says what `parse_filter` takes: each case
below is valid to the one exactly when the other accepts it (JSON Schema 2020-12, as OpenAPI
3.1 uses), so that clients built from the schema send what the service accepts. Two rules
are the parser's alone: the 64-bit bound of integers (OpenAPI's `format: int64`, which JSON
Schema validators take as a note) and the character rule of strings."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from app.filters import FILTER_JSON_SCHEMA, MAX_ANY_VALUES, MAX_FILTER_FIELDS, parse_filter
from app.main import create_app
from app.settings import Settings

CASES: list[tuple[dict[str, Any], bool]] = [
    ({"metadata.article": 20}, True),
    ({"doc_id": {"any": ["eng/20", "swh/20"]}}, True),
    ({"language": "swh", "metadata.year-2": {"any": [1948, -(2**63), 2**63 - 1]}}, True),
    ({f"metadata.k{i}": i for i in range(MAX_FILTER_FIELDS)}, True),
    ({"doc_id": {"any": ["a"] * MAX_ANY_VALUES}}, True),
    ({}, False),
    ({f"metadata.k{i}": i for i in range(MAX_FILTER_FIELDS + 1)}, False),
    ({"text": "a"}, False),
    ({"metadata.": 1}, False),
    ({"metadata.a.b": 1, "metadata.文章 1": "x", "metadata.статья": 2}, True),
    ({'metadata.a"b': 1}, False),
    ({"metadata.a\\b": 1}, False),
    ({"metadata.a\nb": 1}, False),
    ({"metadata.\ud800": 1}, False),  # a lone surrogate: the engine cannot take it
    ({"metadata.article": 2.5}, False),
    ({"metadata.article": True}, False),
    ({"metadata.article": None}, False),
    ({"metadata.article": ["a"]}, False),
    ({"metadata.article": {"gt": 3}}, False),
    ({"metadata.article": {"any": []}}, False),
    ({"metadata.article": {"any": [1, "a"]}}, False),
    ({"doc_id": {"any": ["a"] * (MAX_ANY_VALUES + 1)}}, False),
    ({"doc_id": {"any": ["a"], "none": ["b"]}}, False),
]


def _accepted(conditions: dict[str, Any]) -> bool:
    try:
        parse_filter(conditions)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("conditions", "valid"), CASES)
def test_the_schema_and_the_parser_agree(conditions: dict[str, Any], valid: bool) -> None:
    assert _accepted(conditions) is valid
    assert Draft202012Validator(FILTER_JSON_SCHEMA).is_valid(conditions) is valid


def test_the_openapi_document_carries_the_schema() -> None:
    request = create_app(Settings()).openapi()["components"]["schemas"]["SearchRequest"]
    assert {"type": "null"} in request["properties"]["filter"]["anyOf"]
    assert FILTER_JSON_SCHEMA in request["properties"]["filter"]["anyOf"]
