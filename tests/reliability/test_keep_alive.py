"""Idle connections: the service keeps them open longer than the clients in front of it do.

With equal idle timeouts (httpx's pool and uvicorn's server both default to 5 s), a client can
send a request on a connection at the moment the server closes it: the request is lost with a
connection reset (`httpx.ReadError`), and httpx does not retry it. The service's timeout is
therefore the longer one (`POLYSEARCH_KEEP_ALIVE_S`), so that the client side closes first.
The race itself, which needs a busy server to show: `python -m tests.reliability.keep_alive_race`.
"""

from __future__ import annotations

import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

from tests.reliability.keep_alive_race import CLIENT_EXPIRY_S
from tests.reliability.service_process import start_service


def _get_healthz(connection: HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()  # the whole body, so that the connection can carry the next request
    return response.status


def test_an_idle_connection_outlives_a_clients_keep_alive(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", tmp_path / "service.log")
    try:
        service.wait_ready()
        address = urlsplit(service.url)
        assert address.hostname is not None and address.port is not None
        connection = HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            statuses = [_get_healthz(connection)]
            opened = connection.sock
            time.sleep(CLIENT_EXPIRY_S + 1)  # idle longer than a client keeps it
            statuses.append(_get_healthz(connection))
            # Still open, the same socket: the client side closed first. (http.client opens a
            # new connection only when it has none; a reset one raises instead.)
            assert statuses == [200, 200] and connection.sock is opened
        finally:
            connection.close()
    finally:
        service.stop()
