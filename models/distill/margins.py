"""`python -m models.distill.margins --models NAME... [--language swh]`: how far apart a model
puts a UDHR paragraph's translation and the best wrong paragraph.

Why a student can lower its distillation loss and still retrieve worse: multilingual-e5
embeddings sit in a narrow cone (two unrelated paragraphs have cosine ~0.84), and the correct
translation beats the best wrong paragraph by a few hundredths. A student whose vectors are
~0.92 cosine from the teacher's carries errors larger than that margin.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.encoder import OnnxEncoder
from indexer.registry import DEFAULT_CACHE
from indexer.udhr import fetch_udhr, load_declarations
from models.evaluation.suite import resolve_model_dir
from models.evaluation.udhr_data import ENGLISH, AlignedText, aligned_texts


@dataclass(frozen=True)
class Margins:
    model: str
    correct: float  # mean cosine of a query paragraph to its English translation
    best_wrong: float  # mean cosine to the closest other English paragraph
    mean_wrong: float  # mean cosine to any other English paragraph
    accuracy: float  # share of queries whose translation is closest (xx -> en acc@1)

    @property
    def margin(self) -> float:
        return self.correct - self.best_wrong


def margins(model_dir: Path, language: str, texts: dict[str, AlignedText]) -> Margins:
    english, other = texts[ENGLISH], texts[language]
    row = {unit: i for i, unit in enumerate(english.unit_ids)}
    targets = [english.paragraphs[row[unit]] for unit in other.unit_ids]
    encoder = OnnxEncoder(model_dir, "fp32")
    scores = encoder.encode(list(other.paragraphs), "query") @ encoder.encode(targets, "passage").T
    size = len(targets)
    wrong = scores[~np.eye(size, dtype=bool)].reshape(size, size - 1)
    return Margins(
        model=model_dir.name,
        correct=float(np.diag(scores).mean()),
        best_wrong=float(wrong.max(axis=1).mean()),
        mean_wrong=float(wrong.mean()),
        accuracy=float(np.mean(scores.argmax(axis=1) == np.arange(size))),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.distill.margins", description=__doc__)
    parser.add_argument("--models", nargs="+", required=True, help="model names or folders")
    parser.add_argument("--language", default="swh", help="udhr code of the query side")
    parser.add_argument("--models-dir", type=Path, default=Path("artifacts/models"))
    args = parser.parse_args(argv)
    print(f"UDHR {args.language} -> en, fp32, served prefixes")
    print(
        "| model | correct | best wrong | mean wrong | margin | acc@1 |\n|---|---|---|---|---|---|"
    )
    texts = aligned_texts(load_declarations(fetch_udhr(DEFAULT_CACHE)))
    for name in args.models:
        m = margins(resolve_model_dir(name, args.models_dir), args.language, texts)
        print(
            f"| {m.model} | {m.correct:.3f} | {m.best_wrong:.3f} | {m.mean_wrong:.3f} "
            f"| {m.margin:+.3f} | {m.accuracy:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
