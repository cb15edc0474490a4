"""Structured logs: one JSON object per line, with the request id that the response echoes."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.logging_setup import JsonFormatter, request_id
from tests.reliability.conftest import LiveApp


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_request_id_is_echoed_and_logged(open_app: LiveApp, access_lines: io.StringIO) -> None:
    response = httpx.post(
        f"{open_app.url}/v1/embed",
        json={"texts": ["hello"]},
        headers={"X-Request-ID": "trace-42.a:b"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-42.a:b"
    entry = next(e for e in _entries(access_lines) if e.get("request_id") == "trace-42.a:b")
    assert entry["logger"] == "app.access"
    assert entry["path"] == "/v1/embed" and entry["method"] == "POST"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float)


@pytest.mark.parametrize("given", [None, "has spaces", "x" * 200, "semi;colon<script>"])
def test_missing_or_unsafe_request_id_is_replaced(open_app: LiveApp, given: str | None) -> None:
    headers = {} if given is None else {"X-Request-ID": given}
    generated = httpx.get(f"{open_app.url}/healthz", headers=headers).headers["x-request-id"]
    again = httpx.get(f"{open_app.url}/healthz", headers=headers).headers["x-request-id"]
    assert generated != given
    assert again != generated  # fresh for each request
    assert re.fullmatch(r"[0-9a-f]{32}", generated)  # a uuid4 as 32 hex digits
    assert uuid.UUID(hex=generated).version == 4


def test_errors_carry_the_request_id_too(open_app: LiveApp, access_lines: io.StringIO) -> None:
    response = httpx.post(f"{open_app.url}/v1/search", json={"query": " "})
    assert response.status_code == 422
    rid = response.headers["x-request-id"]
    assert any(e.get("request_id") == rid and e["status"] == 422 for e in _entries(access_lines))


def test_json_formatter_writes_one_object_per_record() -> None:
    token = request_id.set("abc")
    try:
        record = logging.makeLogRecord(
            {"name": "x", "levelname": "WARNING", "msg": "über %s", "args": ("ünïcode",)}
        )
        record.extra_field = 3
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert entry["message"] == "über ünïcode"
    assert entry["level"] == "warning" and entry["request_id"] == "abc"
    assert entry["extra_field"] == 3
