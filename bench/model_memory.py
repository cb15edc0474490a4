"""`python -m bench.model_memory`: the service's memory with the model's word embedding tables
memory-mapped (the built graphs: builder v7 keeps them in a file beside each graph) against the
same graphs with every table inline, as builders before v7 wrote them; alternating.

For each layout, `python -m app` starts on an empty store; its memory is read when /readyz first
says 200, after `--queries` query embeddings (one text per call, as searches encode) and after
`--passages` passage embeddings (8 per call), texts from the UDHR demo corpus in its hundreds of
languages. RSS counts a page once per mapping that holds it, so the two onnxruntime sessions'
mappings of one table count it twice; PSS (/proc/PID/smaps_rollup) shares every page out among
the mappings and processes that hold it: the memory the service actually takes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx
import onnx
from onnx.external_data_helper import convert_model_from_external_data

from app.model_card import ModelCard, external_data_file
from app.settings import DEFAULT_MODEL
from bench.services import base_env, free_port, memory_mb, proportional_mb, running_service
from indexer.registry import DEFAULT_CACHE
from indexer.udhr import DEFAULT_CORPUS, ensure_corpus
from models.evaluation.card import SERVED_VARIANT

PASSAGES_PER_CALL = 8
TEXT_CHARS = 200  # a query's or a short passage's length, within every script's token window


def inline_copy(model_dir: Path, target: Path) -> Path:
    """`target/<model name>`: the model with its served graph re-saved with every table inline
    (the same graph and vectors), the other files linked."""
    card = ModelCard.load(model_dir)
    graph = card.onnx_files[SERVED_VARIANT]
    folder = target / model_dir.name
    folder.mkdir(parents=True)
    for item in model_dir.iterdir():
        if item.name not in {graph, external_data_file(graph)}:
            (folder / item.name).symlink_to(item.resolve())
    model = onnx.load(str(model_dir / graph))
    convert_model_from_external_data(model)
    onnx.save(model, str(folder / graph))
    return folder


def measure(
    models_dir: Path, model: str, texts: list[str], queries: int, work: Path
) -> dict[str, dict[str, float]]:
    """The service's memory at ready, after the queries and after the passages."""
    port = free_port()
    env = {
        **base_env(),
        "POLYSEARCH_MODELS_DIR": str(models_dir),
        "POLYSEARCH_MODEL": model,
        "POLYSEARCH_DATA_DIR": str(work / f"store-{port}"),
        "POLYSEARCH_PORT": str(port),
    }
    command = [sys.executable, "-m", "app"]
    log = work / f"service-{port}.log"
    with running_service(model, command, env, port, log, timeout_s=120) as service:
        phases: dict[str, dict[str, float]] = {}

        def read(phase: str) -> None:
            phases[phase] = {**memory_mb(service.pid), "pss_mb": proportional_mb(service.pid)}

        read("ready")
        with httpx.Client(base_url=service.url, timeout=60) as client:
            for text in texts[:queries]:
                client.post("/v1/embed", json={"texts": [text]}).raise_for_status()
            read("queries")
            for start in range(queries, len(texts), PASSAGES_PER_CALL):
                batch = texts[start : start + PASSAGES_PER_CALL]
                client.post(
                    "/v1/embed", json={"texts": batch, "kind": "passage"}
                ).raise_for_status()
            read("passages")
        return phases


def corpus_texts(corpus: Path, count: int) -> list[str]:
    """`count` texts spread evenly over the corpus (so over its languages), cut short."""
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(len(lines) // count, 1)
    return [json.loads(line)["text"][:TEXT_CHARS] for line in lines[::step][:count]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.model_memory", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--models-dir", type=Path, default=Path("artifacts/models"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--passages", type=int, default=400)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.queries < 0 or args.passages < 0:
        parser.error("--rounds must be positive, --queries and --passages not negative")
    texts = corpus_texts(ensure_corpus(DEFAULT_CORPUS, DEFAULT_CACHE), args.queries + args.passages)
    rows = []
    with tempfile.TemporaryDirectory(prefix="model-memory-") as tmp:
        work = Path(tmp)
        inline_copy(args.models_dir / args.model, work / "inline")
        layouts = {"mapped": args.models_dir, "inline": work / "inline"}
        for round_ in range(1, args.rounds + 1):
            for layout, models_dir in layouts.items():
                phases = measure(models_dir, args.model, texts, args.queries, work)
                rows.append((round_, layout, phases))
    print(
        f"Model `{args.model}`, served variant; {args.queries} queries, then {args.passages} "
        f"passages ({PASSAGES_PER_CALL} per call). MB (10^6 bytes).\n"
    )
    print(
        "| round | tables | RSS ready | peak | PSS ready | RSS after queries | PSS | "
        "RSS after passages | PSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for round_, layout, phases in rows:
        ready, queried, indexed = phases["ready"], phases["queries"], phases["passages"]
        print(
            f"| {round_} | {layout} | {ready['rss_mb']} | {ready['peak_rss_mb']} | "
            f"{ready['pss_mb']} | {queried['rss_mb']} | {queried['pss_mb']} | "
            f"{indexed['rss_mb']} | {indexed['pss_mb']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
