"""Retrieval metrics on hand-made rankings whose answers can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.metrics import (
    accuracy_at_1,
    average_precisions,
    mean_average_precision,
    mrr_at_k,
    own_language_share,
    ranks_of_targets,
    relevant_rank_spread,
)

SCORES = np.array(
    [
        [0.9, 0.1, 0.2],  # target 0 ranks 1st
        [0.5, 0.4, 0.3],  # target 1 ranks 2nd
        [0.8, 0.9, 0.1],  # target 2 ranks 3rd
    ],
    dtype=np.float32,
)
TARGETS = np.array([0, 1, 2], dtype=np.int64)


def test_ranks_accuracy_and_mrr() -> None:
    assert ranks_of_targets(SCORES, TARGETS).tolist() == [1, 2, 3]
    assert accuracy_at_1(SCORES, TARGETS) == pytest.approx(1 / 3)
    assert mrr_at_k(SCORES, TARGETS, k=10) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert mrr_at_k(SCORES, TARGETS, k=2) == pytest.approx((1 + 1 / 2) / 3)


def test_a_tie_with_the_target_is_not_a_hit() -> None:
    tied = np.array([[0.5, 0.5]], dtype=np.float32)
    assert accuracy_at_1(tied, np.array([0], dtype=np.int64)) == 0.0


def test_average_precision() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.6]], dtype=np.float32)
    relevant = np.array([[True, False, True, False]])
    # hits at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precisions(scores, relevant)[0] == pytest.approx((1 + 2 / 3) / 2)
    perfect = np.array([[True, True, False, False]])
    assert mean_average_precision(scores, perfect) == pytest.approx(1.0)


def test_language_bias_figures() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.6]], dtype=np.float32)
    languages = np.array(["sw", "sw", "en", "fr"])
    assert own_language_share(scores, languages, np.array(["sw"]), k=2) == pytest.approx(1.0)
    assert own_language_share(scores, languages, np.array(["en"]), k=4) == pytest.approx(0.25)
    relevant = np.array([[False, True, False, True]])  # ranks 2 and 4
    assert relevant_rank_spread(scores, relevant) == pytest.approx(2.0)
