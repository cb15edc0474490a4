"""Code-switched and question tasks on real encoders: the lexical baseline shows why the
code-switched target must be a third language, and the real model answers the questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.udhr import UdhrDeclaration
from models.evaluation.bible_nt import VersePairs, bible_scores, new_testament_pairs
from models.evaluation.codeswitch import code_switched, codeswitch_scores
from models.evaluation.encoders import CharNgramEncoder, OnnxModelEncoder
from models.evaluation.protocols import ASYMMETRIC
from models.evaluation.questions import load_questions, question_scores
from models.evaluation.udhr_data import AlignedText, aligned_texts


@pytest.fixture(scope="module")
def texts(declarations: dict[str, UdhrDeclaration]) -> dict[str, AlignedText]:
    return aligned_texts(list(declarations.values()))


def test_code_switching_mixes_halves_in_both_orders() -> None:
    xx, en = "moja mbili tatu nne", "one two three four"
    assert code_switched(xx, en, english_first=False) == "moja mbili three four"
    assert code_switched(xx, en, english_first=True) == "one two tatu nne"
    assert code_switched("一二三四", "one two three four", english_first=True) == "one two 三四"


def test_word_overlap_solves_english_targets_but_not_third_languages(
    texts: dict[str, AlignedText],
) -> None:
    result = codeswitch_scores(CharNgramEncoder(), texts, ["swh", "amh"], ASYMMETRIC)
    assert result["source_languages"] == ["swh", "amh"]
    assert result["acc1_english_control"] > 0.9
    assert result["acc1_third_language"] < 0.3


def test_questions_find_their_article(
    model_dir: Path, declarations: dict[str, UdhrDeclaration]
) -> None:
    questions = load_questions()
    assert len(questions) >= 30
    assert {q.article for q in questions} <= set(range(1, 31))
    encoder = OnnxModelEncoder(model_dir, "int8")
    result = question_scores(encoder, declarations, ["eng"], questions, ASYMMETRIC)
    assert result["per_language"]["eng"]["acc1"] > 0.5
    assert result["pool_acc1"] == result["per_language"]["eng"]["acc1"]


def test_the_new_testament_pairs_are_verse_aligned(udhr_dir: Path) -> None:
    pairs = new_testament_pairs(udhr_dir.parent)
    assert len(pairs.chichewa) == len(pairs.english) > 7000
    assert pairs.english[0].startswith("The book of the generation of Jesus Christ")  # Mt 1:1
    assert "Yesu" in pairs.chichewa[0]
    head = VersePairs(pairs.chichewa[:200], pairs.english[:200], 0)
    # names shared across the two languages lift even the lexical baseline above chance
    assert bible_scores(CharNgramEncoder(), head, ASYMMETRIC)["acc1"] > 10 / 200
