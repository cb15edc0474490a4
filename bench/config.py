"""What one benchmark run measures and how long each measurement may take."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bench.queries import QUERIES

BATCH_SIZES = (1, 8, 32, 64)
CONCURRENCIES = (1, 8, 32)
# Languages of the filtered searches: a `languages` filter that keeps a small share of a
# many-language corpus (8% of the verse corpus, 15% of the UDHR slice), so it really narrows
# the search.
FILTER_LANGUAGES = ("fra", "swe", "swh")


@dataclass(frozen=True)
class BenchConfig:
    corpus: Path | None  # None: the UDHR demo corpus (fetched and written if missing)
    passages: int  # records taken from the corpus, whole languages first
    queries: int  # distinct queries cycled by the load generator
    duration_s: float  # per load phase (one concurrency, filtered or not)
    max_requests: int  # per load phase, on top of the time bound
    encode_budget_s: float  # per (encoder, batch size)
    warmup_requests: int  # unmeasured requests at the start of each load phase
    out: Path
    work_dir: Path  # stores, subsets and logs of this run (git-ignored)
    smoke: bool
    model_dir: Path
    # Search the whole corpus (indexed once, reused) rather than the slice that the encode and
    # indexing figures use.
    search_whole_corpus: bool = False
    top_k: int = 10
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    concurrencies: tuple[int, ...] = CONCURRENCIES
    filter_languages: tuple[str, ...] = FILTER_LANGUAGES
    start_timeout_s: float = 300.0
    # The demo corpus (UDHR) indexed by `python -m indexer`'s pipeline: None for all of it.
    demo_passages: int | None = None
    # Verses indexed to project the whole verse corpus' time, when the run does not index it
    # whole (`--large` on the verse corpus measures it instead).
    verse_slice: int = 3_000
    # Passages encoded by both the project and FastEmbed, one per call, to compare vectors.
    agreement_passages: int = 64

    @classmethod
    def full(cls, *, out: Path, model_dir: Path, corpus: Path | None = None) -> BenchConfig:
        """About 35 minutes on 2 cores with the 12-layer e5-small (the demo corpus indexed
        whole takes about 2 of them; `--large` indexes the verse corpus once, ~15 more)."""
        return cls(
            corpus=corpus,
            passages=600,
            queries=len(QUERIES),
            duration_s=15.0,
            max_requests=50_000,
            encode_budget_s=8.0,
            warmup_requests=5,
            out=out,
            work_dir=Path("data/bench"),
            smoke=False,
            model_dir=model_dir,
        )

    @classmethod
    def smoke_test(cls, *, out: Path, model_dir: Path, corpus: Path | None = None) -> BenchConfig:
        """A handful of everything: checks that the harness works, not the figures."""
        return cls(
            corpus=corpus,
            passages=8,
            queries=4,
            duration_s=0.5,
            max_requests=10,
            encode_budget_s=0.1,
            warmup_requests=1,
            out=out,
            work_dir=Path("data/bench-smoke"),
            smoke=True,
            model_dir=model_dir,
            batch_sizes=(1, 4),
            concurrencies=(1, 8),
            start_timeout_s=120.0,
            demo_passages=24,
            verse_slice=24,
            agreement_passages=4,
        )

    def with_overrides(
        self,
        passages: int | None = None,
        queries: int | None = None,
        duration_s: float | None = None,
    ) -> BenchConfig:
        """This config with the command line's sizes; each must be positive."""
        config = replace(
            self,
            passages=self.passages if passages is None else passages,
            queries=self.queries if queries is None else queries,
            duration_s=self.duration_s if duration_s is None else duration_s,
        )
        if config.passages < 1 or config.queries < 1 or config.duration_s <= 0:
            raise ValueError("--passages, --queries and --duration must be positive")
        return config
