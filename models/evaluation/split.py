"""The development and test splits of the benchmark, defined once.

Recipes, checkpoints and releases are chosen on the *development* split: UDHR bitext over the
22 named low-resource languages, and the English questions over those languages. The goals
are reported on the *test* split: UDHR bitext over every other aligned language, the
multilingual pool and the code-switched queries (both built from test-split languages only),
and the English questions over test-split languages. The Chichewa New Testament is neither:
it comes from the same two Bibles as the Old Testament training pairs, so its figure is
in-domain and reported apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from models.evaluation.udhr_data import ENGLISH, LOW_RESOURCE_LANGUAGES, evaluation_order

Split = Literal["development", "test"]
DEVELOPMENT: Split = "development"
TEST: Split = "test"

DEVELOPMENT_LANGUAGES = LOW_RESOURCE_LANGUAGES  # first in the evaluation order
DEVELOPMENT_TASKS = ("udhr-bitext", "questions")
TEST_TASKS = ("udhr-bitext", "multilingual-pool", "code-switched", "questions")
IN_DOMAIN_TASKS = ("bible-nt",)  # same Bibles as the training pairs: reported apart


def split_of(code: str) -> Split:
    """The split a UDHR language belongs to (English is the pivot of every task, in neither;
    asking for it is an error)."""
    if code == ENGLISH:
        raise ValueError("English is the pivot of every task, in neither split")
    return DEVELOPMENT if code in DEVELOPMENT_LANGUAGES else TEST


def split_languages(codes: Sequence[str], split: Split) -> list[str]:
    """The evaluated languages (`codes`, any order) of one split, in the evaluation order."""
    return [c for c in evaluation_order(codes) if split_of(c) == split]
