"""Starting a service under test as a subprocess, timing it to ready, reading its memory.

Every process started here is stopped in a `finally` block (SIGTERM, then SIGKILL), so an
interrupted benchmark leaves no server behind.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STOP_GRACE_S = 15.0


@dataclass(frozen=True)
class RunningService:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    startup_s: float  # from process start to the first 200 from /readyz
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        """None while the service runs; its exit status once it has stopped (-9: killed,
        for example by the kernel when memory ran out)."""
        return self.process.poll()

    def log_tail(self, lines: int = 30) -> str:
        return _log_tail(self.log, lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def memory_mb(pid: int) -> dict[str, float]:
    """Resident set size now and its peak (VmHWM), from /proc, in MB (10^6 bytes)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = round(int(value.split()[0]) * 1024 / 1e6, 1)  # KiB → MB
    return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


def proportional_mb(pid: int) -> float:
    """The process' PSS in MB (10^6 bytes): each resident page shared out among the mappings
    and processes that hold it, where RSS counts it once per mapping."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return round(int(line.split()[1]) * 1024 / 1e6, 1)
    raise RuntimeError(f"no Pss line in /proc/{pid}/smaps_rollup")


def base_env() -> dict[str, str]:
    """This process' environment without any service setting that could change the answer."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("POLYSEARCH_", "QDRANT_"))}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def wait_idle(
    pids: Iterable[int], quiet_s: float = 1.0, busy_share: float = 0.05, timeout_s: float = 120.0
) -> float:
    """Wait until the processes together use under `busy_share` of a core for `quiet_s`: a
    service still working off an earlier phase's abandoned requests must not load the next
    phase. Returns the seconds waited (`timeout_s` if they never went quiet)."""
    pids = list(pids)
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(quiet_s)
        if sum(cpu_seconds(pid) for pid in pids) - before < busy_share * quiet_s:
            break
    return time.monotonic() - began


def _log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                if client.get(url + "/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout_s:g} s:\n{_log_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_service(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    log: Path,
    timeout_s: float,
) -> Iterator[RunningService]:
    """Start `command` (serving on loopback `port`) with `env`; yield once /readyz says 200."""
    url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, url, log, timeout_s)
            yield RunningService(name, url, process, time.perf_counter() - began, log)
        finally:
            _stop(process)
