"""What highlights cost, side by side in one run: indexing and hybrid search with and without.

`python -m bench.highlights [--verses N] [--queries N]` indexes a random sample of the verse
corpus (bench/verses.py) plus the UDHR articles of a few languages (passages of several
sentences) into two embedded collections: one as the writer stores passages now (sentences and
their late-chunked vectors) and one as before highlights (dense and BM25 only), taking turns
batch by batch. Then it runs the same queries (the evaluation's English questions and verses of
the sample) through `SearchService.search` in hybrid mode, with and without `highlight`, taking
turns query by query, on one thread (c=1, in process: no HTTP). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.documents.record import Record
from app.documents.writer import EncodedPassages, PassageEncoder, index_records
from app.encoder import OnnxEncoder
from app.highlights.indexing import encode_passages
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from bench.load import percentile
from bench.verses import verse_records
from models.evaluation.suite import short_queries

UDHR_LANGUAGES = ("eng", "swh", "fra", "arb", "cmn_hans", "hin", "amh", "tha")
BATCH = 256


def _encoders(encoder: OnnxEncoder) -> dict[str, PassageEncoder]:
    """The writer's encoding now, and as before highlights (vectors only, nothing per sentence;
    the writer still stores an empty `sentences` value, a few bytes)."""

    def dense_only(texts: list[str]) -> EncodedPassages:
        return encoder.encode(texts, "passage"), [{} for _ in texts]

    def highlights(texts: list[str]) -> EncodedPassages:
        return encode_passages(encoder, texts)

    return {"dense_only": dense_only, "highlights": highlights}


def _records(verses: int, seed: int) -> list[Record]:
    everything = [r for r in verse_records() if r["text"].strip()]  # a few verses are empty
    random.Random(seed).shuffle(everything)
    records = [Record.model_validate(r) for r in everything[:verses]]
    udhr = Path("data/corpora/udhr.jsonl")
    if udhr.is_file():
        with udhr.open(encoding="utf-8") as lines:
            rows = (Record.model_validate(json.loads(line)) for line in lines)
            records += [r for r in rows if r.language in UDHR_LANGUAGES]
    return records


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "mean_ms": round(float(np.mean(ordered)) * 1000, 2),
    }


def run(verses: int, queries: int, seed: int = 0) -> dict[str, Any]:
    settings = Settings()
    encoder = OnnxEncoder.from_settings(settings)
    records = _records(verses, seed)
    seconds = {"highlights": 0.0, "dense_only": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        store = QdrantEdgeStore(Path(tmp))
        try:
            encoders = _encoders(encoder)
            for start in range(0, len(records), BATCH):
                batch = records[start : start + BATCH]
                for name, encode in encoders.items():
                    began = time.perf_counter()
                    index_records(
                        batch, encoder=encoder, store=store, collection=name, encode=encode
                    )
                    seconds[name] += time.perf_counter() - began
            service = SearchService(encoder, store, Metrics())
            texts = short_queries(1) + [r.text for r in records[: max(0, queries)]]
            texts = texts[:queries]
            timings: dict[str, list[float]] = {"off": [], "on": []}
            for text in texts:
                for flag in (False, True):
                    began = time.perf_counter()
                    service.search("highlights", text, 10, None, mode="hybrid", highlight=flag)
                    timings["on" if flag else "off"].append(time.perf_counter() - began)
        finally:
            store.close()
    rate = {name: len(records) / s for name, s in seconds.items()}
    return {
        "passages": len(records),
        "indexing_passages_per_s": {k: round(v, 1) for k, v in rate.items()},
        "indexing_ratio": round(rate["highlights"] / rate["dense_only"], 3),
        "queries": len(texts),
        "hybrid_search_c1": {
            "highlight_off": _ms(timings["off"]),
            "highlight_on": _ms(timings["on"]),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verses", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.verses, args.queries), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
