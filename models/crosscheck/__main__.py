"""`python -m models.crosscheck`: run the chosen tasks, compare, write the report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import models.crosscheck as package
from models.crosscheck.common import MODEL_DIR, RESULTS, committed_codes
from models.crosscheck.encoder import E5Encoder
from models.crosscheck.report import markdown, summary
from models.crosscheck.run import TASKS, build_report, command_line, run_tasks


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m models.crosscheck", description=(package.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="tasks to run (all)"
    )
    parser.add_argument(
        "--languages", type=int, default=None, help="udhr: first N of results.json's codes (all)"
    )
    parser.add_argument(
        "--verses", type=int, default=None, help="bible-nt: first N aligned verses only (all)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (its default)")
    parser.add_argument("--out", type=Path, default=Path("docs/eval"), help="report folder")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="Hugging Face folder")
    parser.add_argument("--results", type=Path, default=RESULTS, help="committed results.json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tasks = [task for task in TASKS if task in args.tasks]
    codes = committed_codes(args.results)
    count = len(codes) if args.languages is None else args.languages
    if not 1 <= count <= len(codes):
        raise SystemExit(f"--languages must be between 1 and {len(codes)}")
    if args.verses is not None and args.verses < 2:
        raise SystemExit("--verses must be at least 2")
    encoder = E5Encoder(args.model_dir, threads=args.threads, progress=True)
    by_task = run_tasks(tasks, codes, count, args.verses, encoder, args.results)
    report = build_report(
        command_line(tasks, count, args.verses), args.results, by_task, encoder.encoded
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "crosscheck.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (args.out / "crosscheck.md").write_text(markdown(report), encoding="utf-8")
    print(summary(report))
    print(f"wrote {args.out / 'crosscheck.md'} and {args.out / 'crosscheck.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
