"""`python -m models evaluate`: run the suite, write the report, optionally the card."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from models.evaluation.card import card_evaluation, write_card_evaluation
from models.evaluation.report import write_report
from models.evaluation.suite import RunConfig, run_suite


def rerender(out_dir: Path) -> Path:
    """The report again from `out_dir/results.json`: the figures stay those of the run its
    header names; what changed is how they are laid out (the goal table, for one)."""
    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    return write_report(results, out_dir)


def run(args: argparse.Namespace) -> int:
    if args.report_only:
        print(f"wrote {rerender(args.out)}")
        return 0
    named = args.languages != "all" and not args.languages.isdigit()
    codes = tuple(c for c in args.languages.split(",") if c) if named else ()
    languages = int(args.languages) if args.languages.isdigit() else None
    command = "python -m models evaluate " + shlex.join(
        sys.argv[2:] if sys.argv[1:2] == ["evaluate"] else sys.argv[1:]
    )
    config = RunConfig(
        model=args.model,
        with_baselines=args.baselines,
        tasks=args.tasks,
        variants=args.variants,
        languages=languages,
        cache_dir=args.cache,
        models_dir=args.models_dir,
        command=command.strip(),
        codes=codes,
    )
    results = run_suite(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    readme = write_report(results, args.out)
    print(f"wrote {readme}")
    if args.write_card:
        evaluated = card_evaluation(results)
        if evaluated is None:
            raise SystemExit("--write-card needs the udhr-bitext task")
        path = write_card_evaluation(Path(results["model_dir"]), *evaluated)
        print(f"wrote {path}")
    return 0
