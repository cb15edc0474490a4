"""`python -m bench.encode_ceiling`: the most passages per second any indexing pipeline could
reach with the served encoder, and how close `python -m indexer`'s pipeline gets to it.

The corpus (the UDHR demo corpus by default) is chunked as the indexer chunks it, then encoded
and nothing else: the indexer's encoder (`indexing_encoder`), its calls (`encode_calls` at
once, each batch's passages shared out in pieces of similar length, `length_pieces`), no store,
no BM25 terms, no highlight sentences. The pipeline (`index_file` into a fresh qdrant-edge
store, as `make bench` times it) then indexes the same corpus. The two alternate for
`--rounds`; their ratio, the pipeline's share of the ceiling, bounds what any work on the
pipeline can still give: with this encoder, indexing can get at most 1/share times faster.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.documents.chunking import chunk_text
from app.documents.records import Accepted, read_records
from app.documents.writer import (
    DEFAULT_BATCH_SIZE,
    PIECE_TOKENS,
    ChunkingOptions,
    length_pieces,
)
from app.encoder import OnnxEncoder
from app.settings import DEFAULT_MODEL, Settings
from bench.indexing import index_ours
from indexer.pipeline import indexing_encoder
from indexer.registry import DEFAULT_CACHE
from indexer.udhr import DEFAULT_CORPUS, ensure_corpus

COLLECTION = "ceiling"


def passage_batches(corpus: Path, encoder: OnnxEncoder) -> list[list[tuple[str, int]]]:
    """The corpus' passages (text, tokens) as the indexer cuts them, in its batches."""
    max_tokens, overlap = ChunkingOptions().resolve(encoder)
    records = [item.record for item in read_records(corpus) if isinstance(item, Accepted)]
    return [
        [
            (chunk.text, chunk.tokens)
            for record in records[start : start + DEFAULT_BATCH_SIZE]
            for chunk in chunk_text(record.text, encoder.tokenizer, max_tokens, overlap)
        ]
        for start in range(0, len(records), DEFAULT_BATCH_SIZE)
    ]


def encode_only(
    batches: Sequence[Sequence[tuple[str, int]]], encoder: OnnxEncoder, calls: int
) -> float:
    """Seconds to encode every passage, `calls` encoder calls at once, as the writer shares
    out each batch."""
    began = time.perf_counter()
    with ThreadPoolExecutor(calls, thread_name_prefix="ceiling-encode") as pool:
        for batch in batches:
            pieces = length_pieces([tokens for _, tokens in batch], PIECE_TOKENS)
            texts = [[batch[i][0] for i in piece] for piece in pieces]
            list(pool.map(lambda piece: encoder.encode(piece, "passage"), texts))
    return time.perf_counter() - began


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encode_ceiling", description=__doc__)
    parser.add_argument("--corpus", type=Path, help="JSONL records (default: the UDHR demo)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--models-dir", type=Path, default=Path("artifacts/models"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be positive")
    corpus = args.corpus or ensure_corpus(DEFAULT_CORPUS, DEFAULT_CACHE)
    settings = Settings(models_dir=args.models_dir, model=args.model)
    encoder = indexing_encoder(settings)
    calls = settings.encode_calls
    batches = passage_batches(corpus, encoder)
    passages = sum(len(batch) for batch in batches)
    if not passages:
        parser.error(f"{corpus} holds no valid records")
    encoder.encode([text for text, _ in batches[0][:8]], "passage")  # warm-up, untimed
    print(
        f"{corpus}: {passages:,} passages; {args.model}, {calls} call(s) at once of "
        f"{encoder.threads} thread(s)",
        file=sys.stderr,
    )
    ceiling: list[float] = []
    pipeline: list[float] = []
    with tempfile.TemporaryDirectory(prefix="polysearch-ceiling-") as work:
        for round_ in range(1, args.rounds + 1):
            ceiling.append(passages / encode_only(batches, encoder, calls))
            figure = index_ours(corpus, encoder, Path(work) / "store", COLLECTION, calls)
            pipeline.append(figure.passages_per_s)
            print(
                f"round {round_}: encoding alone {ceiling[-1]:.1f} passages/s, "
                f"the indexer {pipeline[-1]:.1f}/s ({pipeline[-1] / ceiling[-1]:.2f})",
                file=sys.stderr,
            )
    shares = [done / alone for done, alone in zip(pipeline, ceiling, strict=True)]
    print(
        f"encoding alone: {statistics.median(ceiling):.1f} passages/s; the indexer: "
        f"{statistics.median(pipeline):.1f}/s, {statistics.median(shares):.2f} of encoding "
        f"alone (rounds: {', '.join(f'{share:.2f}' for share in shares)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
