"""Split one input across several indexing jobs: `--shard i/n` takes every record whose id
hashes to i modulo n, so n jobs together index everything exactly once, in parallel."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SPEC = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= i < n")

    @classmethod
    def parse(cls, spec: str) -> Shard:
        match = _SPEC.match(spec.strip())
        if match is None:
            raise ValueError(f"shard must look like i/n (e.g. 0/4), got {spec!r}")
        return cls(int(match[1]), int(match[2]))

    def owns(self, key: str) -> bool:
        """Stable across runs, machines and Python versions (unlike the built-in hash)."""
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def owns_line(self, line: int) -> bool:
        """Rejected records may have no usable id: they are split by line number instead."""
        return line % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
