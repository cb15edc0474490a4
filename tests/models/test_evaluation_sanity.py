"""The benchmark measures what it says: chance for a random encoder, ~1.0 for an oracle."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from app.encoder import Embeddings, TextKind
from indexer.udhr import UdhrDeclaration
from models.evaluation.bitext import bitext_scores, macro_averages
from models.evaluation.protocols import ASYMMETRIC
from models.evaluation.udhr_data import ENGLISH, AlignedText, aligned_texts

LANGUAGES = ("swh", "fra", "zul", "khm")


def _unit(vectors: np.ndarray) -> Embeddings:
    out: Embeddings = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return out


class RandomEncoder:
    """A fixed random vector per text: knows nothing about meaning."""

    name = "random"
    fingerprint = "random"
    uses_kind = False

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        rows = [
            np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(
                size=64
            )
            for t in texts
        ]
        return _unit(np.array(rows))


class OracleEncoder:
    """Told which English unit each text translates: every translation lands on one point."""

    name = "oracle"
    fingerprint = "oracle"
    uses_kind = True

    def __init__(self, texts: dict[str, AlignedText]) -> None:
        self.units = {u: i for i, u in enumerate(texts[ENGLISH].unit_ids)}
        self.unit_of = {
            p: u for t in texts.values() for u, p in zip(t.unit_ids, t.paragraphs, strict=True)
        }

    def encode(self, texts: Sequence[str], kind: TextKind) -> Embeddings:
        out = np.full((len(texts), len(self.units)), 1e-3)
        for row, text in enumerate(texts):
            out[row, self.units[self.unit_of[text]]] = 1.0
        return _unit(out)


@pytest.fixture(scope="module")
def subset(declarations: dict[str, UdhrDeclaration]) -> dict[str, AlignedText]:
    texts = aligned_texts(list(declarations.values()))
    return {code: texts[code] for code in (ENGLISH, *LANGUAGES)}


def test_the_subset_is_aligned_paragraph_by_paragraph(subset: dict[str, AlignedText]) -> None:
    english = subset[ENGLISH]
    assert len(english.unit_ids) >= 50
    for code in LANGUAGES:
        assert set(subset[code].unit_ids) <= set(english.unit_ids)
        assert len(subset[code].paragraphs) >= 50


def test_a_random_encoder_scores_near_chance(subset: dict[str, AlignedText]) -> None:
    scores = bitext_scores(RandomEncoder(), subset, LANGUAGES, ASYMMETRIC)
    chance = 1 / min(s.paragraphs for s in scores)
    overall = macro_averages(scores)["all"]
    assert overall["xx_to_en"] < 4 * chance
    assert overall["en_to_xx"] < 4 * chance


def test_an_oracle_encoder_scores_near_one(subset: dict[str, AlignedText]) -> None:
    scores = bitext_scores(OracleEncoder(subset), subset, LANGUAGES, ASYMMETRIC)
    for score in scores:
        assert score.xx_to_en >= 0.95, score
        assert score.en_to_xx >= 0.95, score
