"""The table of every setting in docs/operations.md, generated from `app/settings.py`.

`python -m app.settings_doc` rewrites the block between the markers of docs/operations.md's
"Every setting" section with one row per field of `Settings`: its environment variables, type,
default and description. `--check` rewrites nothing and exits 1 when the block is stale, so a
test (tests/test_docs_in_step.py) fails when a setting changes and the docs do not.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from app.settings import Settings

BEGIN = "<!-- settings:begin (python -m app.settings_doc) -->"
END = "<!-- settings:end -->"
DOC = Path("docs/operations.md")
HEADER = ("Variable", "Type", "Default", "Description")
SYMBOLS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}  # pydantic's numeric bounds
TYPE_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret string",
}


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables that set a field: its aliases, else the prefixed name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, str):
        return [alias]
    return [f"{Settings.model_config.get('env_prefix', '')}{name}".upper()]


def type_text(annotation: Any) -> str:
    """A reader's name for a field's type ("integer", "one of `a`, `b`"). None is left out: the
    environment cannot give it (an empty variable does not parse), only the default can."""
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(annotation))
    if get_origin(annotation) is dict:
        key, value = get_args(annotation)
        return f"JSON object of {type_text(key)} to {type_text(value)}"
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return " or ".join(type_text(arg) for arg in inner)
    if annotation not in TYPE_NAMES:
        raise TypeError(f"no reader's name for the type {annotation!r}: add it to TYPE_NAMES")
    return TYPE_NAMES[annotation]


def bounds_text(field: FieldInfo) -> str:
    """The field's numeric bounds, e.g. `1 to 1,024`, `≥ 0`, `> 0`; empty when it has none."""
    bounds: dict[str, Any] = {
        key: getattr(rule, key)
        for rule in field.metadata
        for key in SYMBOLS
        if getattr(rule, key, None) is not None
    }
    if bounds.keys() == {"ge", "le"}:
        return f"{bounds['ge']:,} to {bounds['le']:,}"
    return ", ".join(f"{SYMBOLS[key]} {value:,}" for key, value in bounds.items())


def default_text(value: Any) -> str:
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"  # as the environment variable is written
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows() -> list[tuple[str, str, str, str]]:
    """One row per setting, in the order of `Settings`; refuses a field without a description."""
    table = []
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(
                f"Settings.{name} has no description: declare it as "
                f'Field(default=..., description="...") in app/settings.py'
            )
        names = " or ".join(f"`{env}`" for env in env_names(name, field))
        bounds = bounds_text(field)
        kind = type_text(field.annotation) + (f", {bounds}" if bounds else "")
        table.append((names, kind, default_text(field.default), field.description))
    return table


def block() -> list[str]:
    """The generated block, markers included."""
    lines = [BEGIN, "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cell(text) for text in row) + " |" for row in rows()]
    return [*lines, "", END]


def rewrite_block(document: str, lines: Sequence[str]) -> str:
    """`document` with the text between the markers (markers included) replaced by `lines`."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document lacks the markers {BEGIN!r} ... {END!r}")
    return document[:start] + "\n".join(lines) + document[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.settings_doc", description=__doc__)
    parser.add_argument("--doc", type=Path, default=DOC, help="the Markdown file to rewrite")
    parser.add_argument(
        "--check", action="store_true", help="rewrite nothing; exit 1 if the table is stale"
    )
    args = parser.parse_args(argv)
    current = args.doc.read_text(encoding="utf-8")
    updated = rewrite_block(current, block())
    if args.check:
        if updated != current:
            print(
                f"{args.doc}: the settings table is stale (app/settings.py changed); "
                "run `python -m app.settings_doc` and commit the result",
                file=sys.stderr,
            )
            return 1
        return 0
    if updated != current:
        args.doc.write_text(updated, encoding="utf-8")
        print(f"updated {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
