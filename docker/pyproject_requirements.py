"""Print the pinned requirements of this project, with chosen extras, one per line.

The image installs the dependencies before it copies the source, so that editing code does
not re-download every wheel; this script turns `pyproject.toml` into the requirements file for
that step. Extras that name the project itself (`polyglot-search[build]`) are expanded.

Usage: python docker/pyproject_requirements.py pyproject.toml [EXTRA ...]
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# PEP 508 requirement: a name, optional [extras], then the rest (version, markers).
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(pyproject: Mapping[str, Any], extras: Sequence[str]) -> list[str]:
    """The base dependencies plus those of `extras`, self-references expanded, in order."""
    project = pyproject["project"]
    own_name = _normalise(project["name"])
    optional: Mapping[str, list[str]] = project.get("optional-dependencies", {})
    unknown = sorted(set(extras) - set(optional))
    if unknown:
        raise KeyError(f"unknown extras {unknown}; pyproject defines {sorted(optional)}")

    found: list[str] = []
    seen_extras: set[str] = set()

    def add(specs: Sequence[str]) -> None:
        for spec in specs:
            match = _REQUIREMENT.match(spec)
            if match is None:
                raise ValueError(f"not a requirement: {spec!r}")
            if _normalise(match.group(1)) == own_name:
                add_extras([e.strip() for e in (match.group(2) or "").split(",") if e.strip()])
            elif spec not in found:
                found.append(spec)

    def add_extras(names: Sequence[str]) -> None:
        for name in names:
            if name not in seen_extras:
                seen_extras.add(name)
                add(optional[name])

    add(project.get("dependencies", []))
    add_extras(extras)
    return found


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    pyproject = tomllib.loads(Path(argv[0]).read_text(encoding="utf-8"))
    print("\n".join(requirements(pyproject, argv[1:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
