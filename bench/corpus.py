"""The benchmark's passages: a slice of a JSONL corpus, whole languages at a time.

Taking whole languages (big ones first) rather than every k-th line keeps each language's
share realistic, so a language filter selects a few percent of the points, not one or two.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

from bench.queries import QUERIES

# Languages taken first when present, so that the queries' languages are in the index.
FIRST_LANGUAGES = tuple(dict.fromkeys(lang for lang, _ in QUERIES))


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    lang: str | None
    metadata: dict[str, Any]

    def to_json(self) -> str:
        record = {
            "id": self.id,
            "text": self.text,
            "language": self.lang,
            "metadata": self.metadata,
        }
        return json.dumps(record, ensure_ascii=False)


def read_passages(corpus: Path) -> list[Passage]:
    with corpus.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [
        Passage(
            str(r["id"]),
            str(r["text"]),
            r.get("language", r.get("lang")),
            dict(r.get("metadata") or {}),
        )
        for r in rows
    ]


def take_passages(passages: list[Passage], limit: int) -> list[Passage]:
    """Up to `limit` passages, a turn per language (the query languages first, then the rest
    by code), each language's in corpus order: a slice as multilingual as the corpus."""
    by_lang: dict[str, list[Passage]] = defaultdict(list)
    for passage in passages:
        by_lang[passage.lang or ""].append(passage)
    order = [lang for lang in FIRST_LANGUAGES if lang in by_lang]
    order += sorted(lang for lang in by_lang if lang not in FIRST_LANGUAGES)
    turns = zip_longest(*(by_lang[lang] for lang in order))
    return [p for turn in turns for p in turn if p is not None][:limit]


def write_jsonl(passages: list[Passage], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(p.to_json() + "\n" for p in passages), encoding="utf-8")
    return path


def select_queries(count: int) -> list[tuple[str, str]]:
    """`count` (language, query) pairs, one language after another, so that a small count
    still mixes languages and scripts."""
    seen: dict[str, int] = defaultdict(int)
    ranked = []
    for position, (lang, text) in enumerate(QUERIES):
        ranked.append((seen[lang], position, lang, text))
        seen[lang] += 1
    return [(lang, text) for _, _, lang, text in sorted(ranked)[: max(1, count)]]


def jsonl_batches(corpus: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    """The corpus' JSON lines (blank ones skipped) in lists of `size`."""
    batch: list[dict[str, Any]] = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                batch.append(json.loads(line))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def record_payload(record: dict[str, Any]) -> dict[str, Any]:
    """The payload the comparison stacks store for a corpus record (id, text, language,
    metadata), as the project's own chunk payload names them."""
    return {
        "doc_id": record["id"],
        "text": record["text"],
        "language": record.get("language", record.get("lang")),
        "metadata": record.get("metadata") or {},
    }


@dataclass(frozen=True)
class StackIndexSummary:
    """What a comparison stack's indexing run wrote, and how long it took."""

    points: int
    seconds: float
