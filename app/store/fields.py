"""Payload field names, as requests name them, and the paths they stand for.

A request names a document's metadata value `metadata.KEY`, KEY being the whole of the rest:
metadata values are never objects, so a dot in KEY is part of the key (`metadata.a.b` is the key
`a.b`), as are spaces and any script's letters (`metadata.文章`). Qdrant reads a field as a JSON
path, where a dot goes one level down; a key other than ASCII letters, digits, '_' and '-' goes
in quotes there, which the engine accepts for every key without '"' or '\\' (it has no escape
for them: app/filters.py refuses such keys).
"""

from __future__ import annotations

import re

METADATA_PREFIX = "metadata."
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def field_keys(field: str) -> tuple[str, ...]:
    """The keys a field name stands for, outermost first: `metadata.KEY` is ("metadata", KEY),
    any other name a top-level key."""
    if field.startswith(METADATA_PREFIX):
        return ("metadata", field.removeprefix(METADATA_PREFIX))
    return (field,)


def json_path(field: str) -> str:
    """The field as Qdrant's JSON path: a key other than ASCII letters, digits, '_' and '-' in
    quotes (`metadata."a.b"`), a plain one as it is, so paths of plain keys stay as they were."""
    return ".".join(k if _PLAIN_KEY.fullmatch(k) else f'"{k}"' for k in field_keys(field))
