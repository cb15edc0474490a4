"""Idle connections: the service keeps them open longer than the clients in front of it do.

With equal idle timeouts (httpx's pool and uvicorn's server both default to 5 s), a client can
send a request on a connection at the moment the server closes it: the request is lost with a
connection reset (`httpx.ReadError`), and httpx does not retry it. The service's timeout is
therefore the longer one (`POLYSEARCH_KEEP_ALIVE_S`), so that the client side closes first.
The race itself, which needs a busy server to show: `python -m tests.reliability.keep_alive_race`.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.reliability.keep_alive_race import CLIENT_EXPIRY_S
from tests.reliability.service_process import start_service


def _get_healthz(sock: socket.socket) -> bytes:
    """One `GET /healthz` on an open connection; its status line, or b"" if it was closed."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: polysearch\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n", 1)[0]


def test_an_idle_connection_outlives_a_clients_keep_alive(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", tmp_path / "service.log")
    try:
        service.wait_ready()
        address = urlsplit(service.url)
        assert address.hostname is not None and address.port is not None
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            assert _get_healthz(sock) == b"HTTP/1.1 200 OK"
            time.sleep(CLIENT_EXPIRY_S + 1)  # idle longer than a client keeps it
            assert _get_healthz(sock) == b"HTTP/1.1 200 OK"  # still open: the client closed first
    finally:
        service.stop()
