"""API keys and the two roles they grant: `read` (search, embed, list) and `write` (which also
reads: upsert, delete, backup).

Keys come from `POLYSEARCH_API_KEYS_READ` / `POLYSEARCH_API_KEYS_WRITE` (comma-separated) and
from an optional file of `read KEY` / `write KEY` lines. A presented key is compared with every
configured key in constant time (`hmac.compare_digest`, no early exit), so the time taken says
nothing about which key or how much of it matched. Keys are kept as bytes in a frozen object
whose repr shows only counts: they never reach a log line.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from app.settings import Settings


class Role(StrEnum):
    READ = "read"
    WRITE = "write"

    def allows(self, needed: Role) -> bool:
        return self is Role.WRITE or needed is Role.READ


class ApiKeyFileError(ValueError):
    """The keys file has a line that is not `read KEY` or `write KEY`."""


@dataclass(frozen=True)
class ApiKeys:
    read: tuple[bytes, ...] = field(default=(), repr=False)
    write: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.read or self.write)

    def role_of(self, presented: str) -> Role | None:
        """The strongest role `presented` grants, or None; every key is compared, always."""
        candidate = presented.encode("utf-8", "surrogatepass")
        found: Role | None = None
        for role, keys in ((Role.READ, self.read), (Role.WRITE, self.write)):
            for key in keys:
                if hmac.compare_digest(candidate, key):
                    found = role if found is None or role is Role.WRITE else found
        return found

    def __repr__(self) -> str:
        return f"ApiKeys(read={len(self.read)} keys, write={len(self.write)} keys)"


def _split(raw: str) -> list[bytes]:
    return [k.strip().encode() for k in raw.split(",") if k.strip()]


def _read_key_file(path: Path) -> tuple[list[bytes], list[bytes]]:
    read: list[bytes] = []
    write: list[bytes] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        role, _, key = line.partition(" ")
        if role not in ("read", "write") or not key.strip():
            # The line number only: the line may hold a key.
            raise ApiKeyFileError(f"{path}:{number}: expected `read KEY` or `write KEY`")
        (read if role == "read" else write).append(key.strip().encode())
    return read, write


def load_api_keys(settings: Settings) -> ApiKeys:
    read = _split(settings.api_keys_read.get_secret_value()) if settings.api_keys_read else []
    write = _split(settings.api_keys_write.get_secret_value()) if settings.api_keys_write else []
    if settings.api_keys_file is not None:
        file_read, file_write = _read_key_file(settings.api_keys_file)
        read += file_read
        write += file_write
    return ApiKeys(read=tuple(read), write=tuple(write))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve anywhere
        return False


def check_bind(settings: Settings, keys: ApiKeys) -> str:
    """Refuse to serve an open API beyond this machine; say what the start-up allows.

    Returns the line to log at start-up; raises PermissionError when the bind is refused.
    """
    where = f"{settings.host}:{settings.port}"
    if keys.enabled:
        return f"API keys required ({len(keys.read)} read, {len(keys.write)} write) on {where}"
    if is_loopback(settings.host):
        return f"no API keys configured: the API is open, listening on loopback only ({where})"
    if settings.allow_insecure_bind:
        return f"no API keys configured and POLYSEARCH_ALLOW_INSECURE_BIND set: open on {where}"
    raise PermissionError(
        f"refusing to listen on {where} without API keys: set POLYSEARCH_API_KEYS_READ / "
        "POLYSEARCH_API_KEYS_WRITE (or POLYSEARCH_API_KEYS_FILE), bind to 127.0.0.1, or set "
        "POLYSEARCH_ALLOW_INSECURE_BIND=1"
    )
