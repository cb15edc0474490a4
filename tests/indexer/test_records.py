"""Reading and validating input records: JSONL and CSV, bad records set aside by line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.documents.record import MAX_ID_CHARS
from app.documents.records import (
    Accepted,
    InputFormatError,
    ReadResult,
    Rejected,
    read_csv,
    read_jsonl,
    read_records,
)


def _jsonl(*lines: object) -> list[bytes]:
    return [(x if isinstance(x, str) else json.dumps(x)).encode("utf-8") + b"\n" for x in lines]


def _split(results: list[ReadResult]) -> tuple[list[Accepted], dict[int, Rejected]]:
    accepted = [r for r in results if isinstance(r, Accepted)]
    rejected = {r.line: r for r in results if isinstance(r, Rejected)}
    return accepted, rejected


def test_jsonl_bad_records_are_rejected_with_their_line_and_the_rest_kept() -> None:
    lines = _jsonl(
        {"id": "a", "text": "  Hello world  ", "lang": "en", "metadata": {"k": "v", "n": 2}},
        "{not json",
        {"id": "b"},
        {"id": "c", "text": "   "},
        {"id": "x" * (MAX_ID_CHARS + 1), "text": "long id"},
        {"id": "d", "text": "nul \x00 inside"},
        {"id": "e", "text": 5},
        {"id": "a", "text": "duplicate of line 1"},
        {"id": "f", "text": "bad lang", "lang": "English language"},
        {"id": "g", "text": "nested", "metadata": {"deep": {"er": 1}}},
        {"id": "h", "text": "unknown field", "title": "t"},
        "",
        {"id": 7, "text": "integer id"},
        {"id": True, "text": "bool id"},
        ["not", "an", "object"],
        {"id": "i", "text": "Swahili", "lang": "swh", "metadata": {"tags": ["a", 1, None]}},
    )
    accepted, rejected = _split(list(read_jsonl(lines)))

    assert [(a.line, a.record.id) for a in accepted] == [(1, "a"), (13, "7"), (16, "i")]
    assert accepted[0].record.text == "Hello world"
    assert accepted[0].record.metadata == {"k": "v", "n": 2}
    assert sorted(rejected) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15]
    assert "invalid JSON" in rejected[2].reason
    assert "text" in rejected[3].reason and "Field required" in rejected[3].reason
    assert "text is empty" in rejected[4].reason
    assert rejected[5].reason.startswith("id:")
    assert "U+0000" in rejected[6].reason
    assert "text" in rejected[7].reason
    assert "duplicate id 'a' (first on line 1)" in rejected[8].reason
    assert rejected[9].reason.startswith("lang:")
    assert rejected[10].reason.startswith("metadata.deep: ")
    assert "a list of those, not an object" in rejected[10].reason  # one sentence, no internals
    assert "title" in rejected[11].reason
    assert rejected[14].reason.startswith("id:")
    assert "expected a JSON object" in rejected[15].reason
    assert rejected[2].raw == "{not json"


def test_jsonl_lines_that_are_not_utf8_are_rejected_alone() -> None:
    lines = [b'{"id": "a", "text": "caf\xe9"}\n', *_jsonl({"id": "b", "text": "ok"})]
    accepted, rejected = _split(list(read_jsonl(lines)))
    assert [a.record.id for a in accepted] == ["b"]
    assert "not UTF-8" in rejected[1].reason


def test_csv_columns_map_to_fields_and_metadata_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text(
        "id,text,lang,source,year\n"
        'a,"First line\nsecond line",en,web,1948\n'
        "b,,en,web,\n"
        "c,Habari ya dunia,sw,,\n"
        "d,too,many,fields,here,extra\n"
        "a,duplicate,en,web,1949\n",
        encoding="utf-8",
    )
    accepted, rejected = _split(list(read_records(path)))

    assert [(a.line, a.record.id) for a in accepted] == [(2, "a"), (5, "c")]
    first = accepted[0].record
    assert first.text == "First line\nsecond line"
    assert first.language == "en"
    assert first.metadata == {"source": "web", "year": "1948"}
    assert accepted[1].record.metadata == {}
    assert sorted(rejected) == [4, 6, 7]
    assert "text is empty" in rejected[4].reason
    assert "expected 5 fields, got 6" in rejected[6].reason
    assert "duplicate id 'a' (first on line 2)" in rejected[7].reason
    assert rejected[6].raw == "d,too,many,fields,here,extra"


def test_csv_without_an_id_or_text_column_is_refused_as_a_whole() -> None:
    with pytest.raises(InputFormatError, match="id"):
        list(read_csv(io.StringIO("key,text\n1,hello\n")))


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"docs\.txt"):
        list(read_records(path))


def test_jsonl_file_is_read_as_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_bytes(b"".join(_jsonl(*({"id": i, "text": f"doc {i}"} for i in range(1000)))))
    results = read_records(path)
    first = next(results)  # a generator: nothing is read ahead of what is asked for
    assert isinstance(first, Accepted) and first.record.id == "0"
    assert sum(1 for _ in results) == 999
