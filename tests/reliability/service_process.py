"""`python -m app` as a real process on a free loopback port, so that it can be killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"service not ready: {self.log.read_text()[-2000:]}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


# The suite's model (`ensure_model` builds it): the served default is a release, which only
# `python -m models build` assembles.
SUITE_MODEL = "multilingual-e5-small"


def start_service(data_dir: Path, log: Path, **env: str) -> ServiceProcess:
    """Start `python -m app` serving `data_dir`; `env` adds POLYSEARCH_* settings."""
    port = free_port()
    environment = {
        **os.environ,
        "POLYSEARCH_HOST": "127.0.0.1",
        "POLYSEARCH_PORT": str(port),
        "POLYSEARCH_DATA_DIR": str(data_dir),
        "POLYSEARCH_MODELS_DIR": str(ROOT / "artifacts" / "models"),
        "POLYSEARCH_MODEL": SUITE_MODEL,
        **env,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=ROOT, env=environment, stdout=out, stderr=out
        )
    return ServiceProcess(process, f"http://127.0.0.1:{port}", log)
