"""A lean keep-alive HTTP/1.1 client over asyncio streams, for the load generator.

On 2 cores the client shares the machine with the service it measures. httpx spends about a
millisecond of CPU per request (ad hoc, `python -m app` on the 154k-verse store, c=1 dense
search: p50 9.4-10.1 ms through httpx's AsyncClient against 8.2-8.8 ms through
`http.client`, alternating), and that time counted in every latency and was taken from the
cores the service's encoder runs on. This client writes a request's bytes as they are and
reads back the status line, the headers and the body (`Content-Length` or chunked): the work
any HTTP client must do, and little else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


class HttpProtocolError(Exception):
    """The server's answer is not an HTTP/1.1 response this client can read."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[bytes, bytes]  # names in lower case; values as sent


class Connection:
    """One connection to `host:port`, opened on first use and again after the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @classmethod
    def to(cls, url: str) -> Connection:
        """A connection to the host and port of `url` (http://HOST:PORT/...)."""
        split = urlsplit(url)
        return cls(split.hostname or "127.0.0.1", split.port or 80)

    async def post_json(self, path: str, body: bytes) -> Response:
        """POST `body` (JSON, already encoded) to `path`; the response once read whole."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        try:
            writer.write(head.encode("ascii") + body)
            await writer.drain()
            response, keep_alive = await _read_response(reader)
        except BaseException:
            self.close()  # a half-read response must not be read as the next one's
            raise
        if not keep_alive:
            self.close()
        return response

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """The response and whether the connection stays open after it."""
    status_line = await reader.readline()
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HttpProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers: dict[bytes, bytes] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = await _read_chunks(reader)
    elif b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    else:  # the body runs to the end of the connection
        body = await reader.read()
        return Response(int(parts[1]), body, headers), False
    keep_alive = headers.get(b"connection", b"").lower() != b"close" and parts[0] == b"HTTP/1.1"
    return Response(int(parts[1]), body, headers), keep_alive


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
        chunks.append(await reader.readexactly(size))
        await reader.readline()  # the CRLF after each chunk
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # trailers
        pass
    return b"".join(chunks)
