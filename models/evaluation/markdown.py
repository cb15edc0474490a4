"""Markdown pieces the evaluation reports share."""

from __future__ import annotations

from collections.abc import Sequence


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal; `n/a` for none."""
    return "n/a" if value is None else f"{100 * value:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines, then an empty line."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return [*lines, *("| " + " | ".join(row) + " |" for row in rows), ""]
