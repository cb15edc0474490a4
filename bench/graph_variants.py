"""`python -m bench.graph_variants`: the encoder graph's variants side by side, in one run.

Each variant is written from the same built model's `hf/` state dict (fp32 plain or fused,
int8 as dynamic quantisation, as MatMulNBits 8-bit weight blocks, or as int8 weights times
activations quantised per row, plain or fused) and measured
round-robin, so machine noise hits every row alike. Per variant: passages/s one text per call
and batched (the encoder's batching: sorted by length, at most `--batch` texts and 512 padded
tokens per call), short-query latency one query per call (p50/p99), cosine to the plain fp32
graph, and how many passages get a bit-identical vector alone and batched among texts of other
lengths. `--openvino` adds the plain graph run by OpenVINO as it is and as static int8
(bench/openvino_runtime.py), `--ctranslate2` the model converted to CTranslate2's int8
(bench/ctranslate2_runtime.py). `--graph LABEL=FILE` adds an ONNX file of the same contract as
another row (say, the int8 graph an older builder wrote, kept before `python -m models build`
replaced it). Writes `docs/bench/graph_variants.{json,md}` unless `--out` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from safetensors.numpy import load_file

from app.encoder import OnnxEncoder
from app.model_card import ModelCard
from bench import ctranslate2_runtime
from bench.ctranslate2_runtime import CTranslate2Encoder
from bench.encode_throughput import shuffled
from bench.machine import busy_share, cpu_name, uptime, versions
from bench.openvino_runtime import (
    OpenVinoEncoder,
    activation_ranges,
    calibration_passages,
    openvino_precision,
    write_static_int8,
)
from models.bert import BertConfig
from models.build import HF_DIR, TOKENIZER_FILE
from models.evaluation.suite import short_queries
from models.onnx_export import GraphOptions, bert_to_onnx
from models.quantize import quantize_int8

DEFAULT_MODEL = Path("artifacts/models/e5-l12-wise-40")
DEFAULT_CORPUS = Path("data/corpora/udhr.jsonl")
DEFAULT_OUT = Path("docs/bench")
REFERENCE = "fp32 plain"


@dataclass(frozen=True)
class GraphVariant:
    name: str
    options: GraphOptions
    dynamic_int8: bool = False  # onnxruntime's dynamic quantisation on top (the old int8)


VARIANTS = (
    GraphVariant(REFERENCE, GraphOptions(fused=False)),
    GraphVariant("fp32 fused", GraphOptions(fused=True)),
    GraphVariant("int8 dynamic plain (old)", GraphOptions(fused=False, int8_embeddings=True), True),
    GraphVariant("int8 dynamic fused", GraphOptions(fused=True, int8_embeddings=True), True),
    GraphVariant(
        "int8 blocks fused (MatMulNBits)",
        GraphOptions(fused=True, int8_embeddings=True, int8_linears=True, int8_kernel="blocks"),
    ),
    GraphVariant(
        "int8 rows plain", GraphOptions(fused=False, int8_embeddings=True, int8_linears=True)
    ),
    GraphVariant(
        "int8 rows fused", GraphOptions(fused=True, int8_embeddings=True, int8_linears=True)
    ),
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_variant(model_dir: Path, variant: GraphVariant, target: Path) -> Path:
    """`target`: a model folder whose `fp32` file is `variant`'s graph of `model_dir`."""
    target.mkdir(parents=True)
    _write_graph(model_dir, variant, target / "model.onnx")
    return _with_card(model_dir, target)


def graph_folder(model_dir: Path, graph: Path, target: Path) -> Path:
    """`target`: a model folder whose `fp32` file is `graph` (and the files of its external
    data, which onnxruntime looks for beside the graph it opens), with `model_dir`'s tokenizer."""
    target.mkdir(parents=True)
    (target / "model.onnx").symlink_to(graph.resolve())
    initializers = onnx.load(str(graph), load_external_data=False).graph.initializer
    locations = {e.value for t in initializers for e in t.external_data if e.key == "location"}
    for location in locations:
        (target / location).symlink_to((graph.parent / location).resolve())
    return _with_card(model_dir, target)


def _write_graph(model_dir: Path, variant: GraphVariant, graph: Path) -> None:
    config = BertConfig.from_hf_dict(
        json.loads((model_dir / HF_DIR / "config.json").read_text(encoding="utf-8"))
    )
    state = load_file(str(model_dir / HF_DIR / "model.safetensors"))
    if variant.dynamic_int8:
        float_graph = graph.with_name("float.onnx")
        onnx.save(bert_to_onnx(config, state, variant.options), str(float_graph))
        quantize_int8(float_graph, graph)
        float_graph.unlink()
    else:
        onnx.save(bert_to_onnx(config, state, variant.options), str(graph))


def _with_card(model_dir: Path, target: Path) -> Path:
    """`target` with `model_dir`'s tokenizer and card, the card naming `model.onnx` as fp32."""
    card = ModelCard.load(model_dir)
    (target / TOKENIZER_FILE).write_bytes((model_dir / card.tokenizer_file).read_bytes())
    replace(card, tokenizer_file=TOKENIZER_FILE, onnx_files={"fp32": "model.onnx"}).save(target)
    return target


def _passages(corpus: Path, encoder: OnnxEncoder, count: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8") if line.strip()]
    limit = encoder.content_token_limit("passage")
    return [t for t in shuffled(texts)[: count * 3] if encoder.count_tokens(t, "passage") <= limit][
        :count
    ]


@dataclass
class _Tally:
    rates: dict[str, list[float]]  # passages/s per round, alone and batched
    latencies_ms: list[float]


def _measure_round(
    encoder: OnnxEncoder, passages: list[str], queries: list[str], batch: int, tally: _Tally
) -> None:
    for label, size in (("alone", 1), ("batched", batch)):
        encoder.batch_size = size
        encoder.encode(passages[:4], "passage")  # warm-up at this shape, unmeasured
        began = time.perf_counter()
        encoder.encode(passages, "passage")
        rate = len(passages) / (time.perf_counter() - began)
        tally.rates.setdefault(label, []).append(rate)
    encoder.batch_size = 1
    for query in queries:
        began = time.perf_counter()
        encoder.encode([query], "query")
        tally.latencies_ms.append((time.perf_counter() - began) * 1000)


def run(
    model_dir: Path,
    corpus: Path,
    count: int,
    batch: int,
    rounds: int,
    threads: int | None,
    graphs: dict[str, Path] | None = None,
    openvino: bool = False,
    ctranslate2: bool = False,
) -> dict[str, Any]:
    started = datetime.now(UTC)
    busy = busy_share()
    load_before = uptime()
    with tempfile.TemporaryDirectory(prefix="graph-variants-") as work:
        encoders: dict[str, OnnxEncoder] = {}
        folders: dict[str, Path] = {}
        for index, variant in enumerate(VARIANTS):
            _log(f"writing {variant.name}")
            folders[variant.name] = write_variant(model_dir, variant, Path(work) / f"v{index}")
            encoders[variant.name] = OnnxEncoder(folders[variant.name], "fp32", threads=threads)
        for index, (label, graph) in enumerate((graphs or {}).items()):
            folder = graph_folder(model_dir, graph, Path(work) / f"g{index}")
            encoders[label] = OnnxEncoder(folder, "fp32", threads=threads)
        if openvino:
            encoders |= _openvino_rows(
                model_dir, Path(work), folders[REFERENCE], encoders[REFERENCE], threads
            )
        if ctranslate2:
            encoders["int8 rows, CTranslate2"] = ctranslate2_encoder(model_dir, Path(work), threads)
        reference = encoders[REFERENCE]
        passages = _passages(corpus, reference, count)
        queries = short_queries()
        reference.batch_size = 1
        expected = reference.encode(passages, "passage")
        rows: dict[str, dict[str, Any]] = {}
        for name, encoder in encoders.items():
            encoder.batch_size = 1
            alone = encoder.encode(passages, "passage")
            encoder.batch_size = batch
            together = encoder.encode(passages, "passage")
            cosines = np.sum(alone * expected, axis=1)
            rows[name] = {
                "cosine_to_fp32_mean": round(float(cosines.mean()), 6),
                "cosine_to_fp32_min": round(float(cosines.min()), 6),
                "bit_identical_batched": int(
                    sum(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))
                ),
            }
        tallies = {name: _Tally({}, []) for name in encoders}
        for round_index in range(rounds):
            _log(f"round {round_index + 1}/{rounds}")
            shift = round_index % len(encoders)  # each variant takes its turn going first
            order = list(encoders)[shift:] + list(encoders)[:shift]
            for name in order:
                _measure_round(encoders[name], passages, queries, batch, tallies[name])
    for name, tally in tallies.items():
        latencies = np.array(tally.latencies_ms)
        rows[name] |= {
            # the median round: other jobs on a shared machine slow some rounds down
            "passages_per_s_alone": round(float(np.median(tally.rates["alone"])), 1),
            "passages_per_s_batched": round(float(np.median(tally.rates["batched"])), 1),
            "query_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "query_p99_ms": round(float(np.percentile(latencies, 99)), 2),
            "queries": len(latencies),
        }
    return {
        "command": "python -m bench.graph_variants " + shlex.join(sys.argv[1:]),
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": {"cpu": cpu_name(), "busy_before": round(busy, 3), "load_before": load_before},
        "load_after": uptime(),
        "versions": versions(),
        "model": model_dir.name,
        "passages": len(passages),
        "corpus": str(corpus),
        "batch": batch,
        "rounds": rounds,
        "threads": reference.threads,
        "variants": rows,
    }


def _openvino_rows(
    model_dir: Path, work: Path, plain_dir: Path, plain: OnnxEncoder, threads: int | None
) -> dict[str, OnnxEncoder]:
    """The plain fp32 graph (`plain_dir`, run by `plain` in onnxruntime) in OpenVINO, as it is
    and as static int8 calibrated on Quran passages."""
    _log("calibrating the static int8 graph")
    ranges = activation_ranges(plain_dir / "model.onnx", plain, calibration_passages())
    static_dir = work / "openvino-int8"
    static_dir.mkdir()
    write_static_int8(plain_dir / "model.onnx", static_dir / "model.onnx", ranges)
    _with_card(model_dir, static_dir)
    return {
        f"fp32 plain, OpenVINO {openvino_precision()}": OpenVinoEncoder(
            plain_dir, "fp32", threads=threads
        ),
        "int8 static, OpenVINO": OpenVinoEncoder(static_dir, "fp32", threads=threads),
    }


def ctranslate2_encoder(model_dir: Path, work: Path, threads: int | None) -> OnnxEncoder:
    """The model converted to CTranslate2's int8, in a folder of its own."""
    _log("converting to CTranslate2")
    folder = work / "ctranslate2-int8"
    folder.mkdir()
    ctranslate2_runtime.convert(model_dir, folder / ctranslate2_runtime.FOLDER)
    return CTranslate2Encoder(_with_card(model_dir, folder), "fp32", threads=threads)


def render(result: dict[str, Any]) -> str:
    reference = result["variants"][REFERENCE]
    lines = [
        "# Encoder graph variants, side by side",
        "",
        f"`{result['command'].strip()}`, {result['started']} ({result['seconds']} s); "
        f"{result['machine']['cpu']}, {result['threads']} onnxruntime threads; cores "
        f"{result['machine']['busy_before']:.0%} busy before; "
        f"load before `{result['machine']['load_before']}`, after `{result['load_after']}`; "
        f"onnxruntime {result['versions'].get('onnxruntime', '?')}{_other_runtimes(result)}.",
        "",
        f"Model `{result['model']}`; {result['passages']} passages of `{result['corpus']}` "
        f"(shuffled), {result['rounds']} rounds round-robin (passages/s: the median round). "
        "*alone*: one text per call; "
        f"*batched*: at most {result['batch']} texts and 512 padded tokens per call. Queries: "
        f"{result['variants'][REFERENCE]['queries'] // result['rounds']} per round (the "
        "English questions of the evaluation, `short_queries()`), one per call. *same*: "
        "passages whose vector is bit-identical alone and batched. Ratios are to the plain "
        "fp32 graph in the same run.",
        "",
        "| variant | passages/s alone | batched | x fp32 batched | query p50 ms | p99 ms "
        "| x fp32 p50 | cos to fp32 mean | min | same |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["variants"].items():
        lines.append(
            f"| {name} | {row['passages_per_s_alone']} | {row['passages_per_s_batched']} | "
            f"{row['passages_per_s_batched'] / reference['passages_per_s_batched']:.2f} | "
            f"{row['query_p50_ms']} | {row['query_p99_ms']} | "
            f"{row['query_p50_ms'] / reference['query_p50_ms']:.2f} | "
            f"{row['cosine_to_fp32_mean']:.5f} | {row['cosine_to_fp32_min']:.5f} | "
            f"{row['bit_identical_batched']}/{result['passages']} |"
        )
    return "\n".join(lines) + "\n"


def _other_runtimes(result: dict[str, Any]) -> str:
    """The other runtimes' versions, where the run has their rows (threads alike)."""
    found = ""
    for runtime, package in (("OpenVINO", "openvino"), ("CTranslate2", "ctranslate2")):
        if any(runtime in name for name in result["variants"]):
            found += f", {runtime} {result['versions'].get(package, '?')}"
    return found


def _labelled(spec: str) -> tuple[str, Path]:
    label, separator, file = spec.partition("=")
    if not separator or not label or not Path(file).is_file():
        raise SystemExit(f"--graph wants LABEL=FILE with an existing ONNX file, got {spec!r}")
    return label, Path(file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_variants", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="built model folder")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSONL passages")
    parser.add_argument("--passages", type=int, default=160, help="passages per round")
    parser.add_argument("--batch", type=int, default=32, help="most texts per batched call")
    parser.add_argument("--rounds", type=int, default=5, help="round-robin rounds")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    parser.add_argument(
        "--graph",
        action="append",
        default=[],
        metavar="LABEL=FILE",
        help="another ONNX file of the same contract, measured as one more row (repeatable)",
    )
    parser.add_argument(
        "--openvino",
        action="store_true",
        help="add OpenVINO's rows: the plain graph as it is and as static int8",
    )
    parser.add_argument(
        "--ctranslate2",
        action="store_true",
        help="add a row for the model converted to CTranslate2's int8",
    )
    args = parser.parse_args(argv)
    graphs = dict(_labelled(spec) for spec in args.graph)
    result = run(
        args.model,
        args.corpus,
        args.passages,
        args.batch,
        args.rounds,
        args.threads,
        graphs,
        args.openvino,
        args.ctranslate2,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "graph_variants.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "graph_variants.md").write_text(render(result))
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
