"""`.dockerignore` matching as the Docker builder does it, for checking the build context.

Rules are read in order and the last one that matches wins; `!` re-includes; a path is matched
when it or one of its parent folders matches; `**` spans any number of folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    include: bool


def _compile(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def read_rules(path: Path) -> list[Rule]:
    rules: list[Rule] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        rules.append(Rule(_compile(line.lstrip("!").strip()), include))
    return rules


def is_excluded(rules: list[Rule], relative_path: str) -> bool:
    """Whether the file or folder at `relative_path` (POSIX, from the context root) is left out."""
    parts = relative_path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for rule in rules:
        if any(rule.pattern.match(candidate) for candidate in candidates):
            excluded = not rule.include
    return excluded
