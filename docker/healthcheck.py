"""Container health probe: exit 0 when the service answers GET /healthz with 200.

Slim Python images have no curl or wget, so the HEALTHCHECK runs this with the image's Python.
It reads the port the service listens on from the same variable as the service does.

Usage: python /app/docker/healthcheck.py [PATH]   (default /healthz)
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "/healthz"
    port = os.environ.get("POLYSEARCH_PORT", "8000")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status: int = response.status
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
