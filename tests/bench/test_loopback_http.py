"""The load generator's HTTP client against a real socket server that answers as told."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bench.loopback_http import Connection, HttpProtocolError, Response


async def _with_server(answers: list[bytes], talk: Callable[[Connection], Awaitable[None]]) -> int:
    """Serves `answers` in order, one per request, whatever connection it comes on; runs
    `talk` against it and returns how many connections the client opened."""
    pending = list(answers)
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while pending:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            answer = pending.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"Connection: close" in answer:
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = Connection("127.0.0.1", port)
    try:
        await talk(connection)
    finally:
        connection.close()
        server.close()
        await server.wait_closed()
    return connections


def _run(answers: list[bytes], requests: int) -> tuple[list[Response], int]:
    got: list[Response] = []

    async def talk(connection: Connection) -> None:
        for _ in range(requests):
            got.append(await connection.post_json("/v1/search", b'{"query": "q"}'))

    opened = asyncio.run(_with_server(answers, talk))
    return got, opened


def test_responses_with_a_length_reuse_one_connection() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    busy = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy"
    got, opened = _run([ok, busy, ok], 3)
    assert [(r.status, r.body) for r in got] == [(200, b"{}"), (503, b"busy"), (200, b"{}")]
    # Header names in lower case, as the contention benchmark reads them.
    assert got[1].headers[b"retry-after"] == b"1"
    assert got[0].headers[b"content-type"] == b"application/json"
    assert opened == 1


def test_a_chunked_body_is_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
    )
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    got, opened = _run([chunked, ok], 2)
    assert [r.body for r in got] == [b"hello, world", b"ok"]
    assert opened == 1


def test_a_closed_connection_is_opened_again() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
    got, opened = _run([closing, ok], 2)
    assert [r.body for r in got] == [b"a", b"b"]
    assert opened == 2


def test_an_answer_that_is_not_http_is_an_error() -> None:
    with pytest.raises(HttpProtocolError):
        _run([b"SSH-2.0-OpenSSH\r\n\r\n"], 1)
