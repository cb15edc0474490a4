"""Input records: read JSONL or CSV as a stream, validate each record, set bad ones aside.

A bad record never stops a run: it becomes a `Rejected` (line number, reason, raw text) and
the caller writes it to a rejects file. Only ids are remembered across the stream (to refuse
duplicates), never texts, so inputs larger than memory work.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import ValidationError

from app.documents.record import Record


@dataclass(frozen=True)
class Accepted:
    line: int
    record: Record


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    raw: str

    def to_json(self) -> str:
        return json.dumps(
            {"line": self.line, "reason": self.reason, "raw": self.raw}, ensure_ascii=False
        )


ReadResult = Accepted | Rejected


class InputFormatError(ValueError):
    """The input as a whole is unusable (unknown extension, CSV without id/text columns)."""


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "record"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class _Validator:
    """Validates raw dicts in stream order and refuses an id seen earlier in the same input."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def check(self, line: int, data: Any, raw: str) -> ReadResult:
        if not isinstance(data, dict):
            return Rejected(line, f"expected a JSON object, got {type(data).__name__}", raw)
        try:
            record = Record.model_validate(data)
        except ValidationError as error:
            return Rejected(line, _reason(error), raw)
        first = self._seen.get(record.id)
        if first is not None:
            return Rejected(line, f"duplicate id {record.id!r} (first on line {first})", raw)
        self._seen[record.id] = line
        return Accepted(line, record)


def read_jsonl(lines: Iterable[bytes]) -> Iterator[ReadResult]:
    """One JSON object per line; blank lines are skipped, line numbers count from 1."""
    validator = _Validator()
    for number, raw_bytes in enumerate(lines, start=1):
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as error:
            yield Rejected(number, f"not UTF-8: {error}", raw_bytes.decode("utf-8", "replace"))
            continue
        raw = raw.rstrip("\r\n")
        if number == 1:
            raw = raw.removeprefix("\ufeff")
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            yield Rejected(number, f"invalid JSON: {error}", raw)
            continue
        yield validator.check(number, data, raw)


def _csv_raw(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue()


def read_csv(stream: TextIO) -> Iterator[ReadResult]:
    """A header row naming `id` and `text` (and optionally `language`, or `lang`, its former
    name); other columns become string metadata (empty cells are left out). Line numbers are
    those of the row's first physical line, so quoted multi-line cells still point at the right
    place."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise InputFormatError(f"CSV header unreadable: {error}") from error
    header = [name.strip().removeprefix("\ufeff") for name in header]
    missing = {"id", "text"} - set(header)
    if missing:
        raise InputFormatError(f"CSV header lacks column(s): {', '.join(sorted(missing))}")
    if len(set(header)) != len(header):
        raise InputFormatError("CSV header repeats a column name")
    validator = _Validator()
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Rejected(start, f"invalid CSV: {error}", "")
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        raw = _csv_raw(row)
        if len(row) != len(header):
            yield Rejected(line, f"expected {len(header)} fields, got {len(row)}", raw)
            continue
        cells = dict(zip(header, row, strict=True))
        data: dict[str, Any] = {"id": cells.pop("id"), "text": cells.pop("text")}
        language = cells.pop("language", "").strip() or cells.pop("lang", "").strip()
        if language:
            data["language"] = language
        data["metadata"] = {key: value for key, value in cells.items() if value != ""}
        yield validator.check(line, data, raw)


def input_format(source: Path | str) -> Literal["jsonl", "csv"]:
    """The format of an input, by extension (`-` is JSON lines on stdin). Checked before any
    work starts, so a wrong path fails at once."""
    if str(source) == "-":
        return "jsonl"
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".ndjson", ".csv"}:
        raise InputFormatError(
            f"cannot tell the format of {path.name!r}: use .jsonl, .ndjson or .csv"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no such input file: {path}")
    return "csv" if suffix == ".csv" else "jsonl"


def read_records(source: Path | str) -> Iterator[ReadResult]:
    """Records from a `.jsonl`/`.ndjson` (JSON lines) or `.csv` file; `-` reads JSON lines
    from stdin."""
    kind = input_format(source)
    if str(source) == "-":
        yield from read_jsonl(sys.stdin.buffer)
    elif kind == "jsonl":
        with Path(source).open("rb") as handle:
            yield from read_jsonl(handle)
    else:
        with Path(source).open("r", encoding="utf-8-sig", newline="") as handle:
            yield from read_csv(handle)
