"""`python -m bench [--smoke] [--large] [--corpus FILE] [--passages N] [--queries N]
[--duration S] [--out DIR] [--work-dir DIR]`: figures go to DIR/results.{json,md} (smoke:
DIR/smoke.*)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from app.settings import DEFAULT_MODEL
from bench.config import BenchConfig
from bench.run import run_benchmark
from bench.verses import DEFAULT_OUT as DEFAULT_VERSES
from bench.verses import write_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the project against sentence-transformers + qdrant-client local "
        "mode on the same passages and queries; write JSON + Markdown under --out.",
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds of everything")
    parser.add_argument(
        "--corpus", type=Path, help="JSONL corpus (default: UDHR demo; --large: the verses)"
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="search the whole corpus (default bench.verses, ~154k passages; indexed once, "
        "reused), not only the slice that the encode and indexing figures use",
    )
    parser.add_argument("--passages", type=int, help="records taken from the corpus")
    parser.add_argument("--queries", type=int, help="distinct queries")
    parser.add_argument("--duration", type=float, help="seconds per load phase")
    parser.add_argument("--out", type=Path, default=Path("docs/bench"))
    parser.add_argument("--work-dir", type=Path, help="stores, logs and the corpus slice")
    parser.add_argument("--model-dir", type=Path, default=Path("artifacts/models") / DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if args.smoke:
        config = BenchConfig.smoke_test(out=args.out, model_dir=args.model_dir, corpus=args.corpus)
    else:
        config = BenchConfig.full(out=args.out, model_dir=args.model_dir, corpus=args.corpus)
    try:
        config = config.with_overrides(args.passages, args.queries, args.duration)
    except ValueError as error:
        parser.error(str(error))
    if args.large:
        corpus = args.corpus or DEFAULT_VERSES
        if not corpus.is_file():
            counts = write_corpus(corpus)
            print(f"wrote {corpus}: {sum(counts.values()):,} passages", file=sys.stderr)
        config = replace(config, corpus=corpus, search_whole_corpus=True)
    if args.work_dir is not None:
        config = replace(config, work_dir=args.work_dir)
    json_path, md_path = run_benchmark(config)
    print(md_path.read_text(encoding="utf-8"))
    print(f"written: {json_path} {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
