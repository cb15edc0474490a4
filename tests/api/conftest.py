"""What the HTTP tests share: a client of the live server (real model, real store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def client(live_server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server_url, timeout=30) as http:
        yield http


def search(client: httpx.Client, **body: Any) -> dict[str, Any]:
    """`POST /v1/search` with `body`, which must answer 200; its JSON."""
    response = client.post("/v1/search", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
