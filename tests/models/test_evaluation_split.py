"""The development/test split (real UDHR data) and the goal table on hand-made figures: met,
not met, and not measured (never a zero)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from indexer.udhr import UdhrDeclaration
from models.evaluation.report import _goals_section, write_report
from models.evaluation.side_by_side import goal_checks, goal_table, row_figures
from models.evaluation.split import (
    DEVELOPMENT,
    DEVELOPMENT_LANGUAGES,
    DEVELOPMENT_TASKS,
    IN_DOMAIN_TASKS,
    TEST,
    TEST_TASKS,
    split_languages,
    split_of,
)
from models.evaluation.suite import RunConfig, question_languages, run_suite
from models.evaluation.udhr_data import ENGLISH, aligned_texts, evaluation_order

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def order(declarations: dict[str, UdhrDeclaration]) -> list[str]:
    """Every evaluated language of a full `make eval`, in the evaluation order."""
    return evaluation_order(list(aligned_texts(list(declarations.values()))))


def test_the_splits_do_not_overlap_and_cover_every_evaluated_language(order: list[str]) -> None:
    development = split_languages(order, DEVELOPMENT)
    test = split_languages(order, TEST)
    assert not set(development) & set(test)
    assert sorted(development + test) == sorted(order)
    assert development == list(DEVELOPMENT_LANGUAGES)  # all 22 named languages are aligned
    assert len(test) == len(order) - 22 > 400
    # `--languages 22` (the release's development evaluation, the study) is the development split
    assert order[: len(DEVELOPMENT_LANGUAGES)] == development
    with pytest.raises(ValueError, match="neither split"):
        split_of(ENGLISH)


def test_every_task_is_in_one_place() -> None:
    """The pool and the code-switched queries are test tasks only; the NT is in neither."""
    assert set(DEVELOPMENT_TASKS) <= set(TEST_TASKS)
    assert not set(IN_DOMAIN_TASKS) & set(TEST_TASKS)
    assert {"multilingual-pool", "code-switched"} - set(DEVELOPMENT_TASKS) == {
        "multilingual-pool",
        "code-switched",
    }


def test_questions_run_over_both_splits_apart(order: list[str]) -> None:
    languages = question_languages(order, per_split=3)
    assert languages == [ENGLISH, "swh", "yor", "hau_NG", "fra", "spa", "arb"]
    assert question_languages(order[:22], per_split=3) == [ENGLISH, "swh", "yor", "hau_NG"]


def test_an_unknown_language_code_is_a_clear_error(tmp_path: Path) -> None:
    config = RunConfig(model="multilingual-e5-small", codes=("swh", "xx_nope"))
    with pytest.raises(ValueError, match=r"no aligned UDHR translation for \['xx_nope'\]"):
        run_suite(config)


def _entry(
    udhr: dict[str, float], pool_map: float, english: float, questions: dict[str, float]
) -> dict[str, Any]:
    """An encoder entry of results.json (served protocol only): bitext per language (seen:
    swh and fra; unseen: wol and haw), a pool and code-switched run over test languages, the
    questions per language."""
    seen = {"swh", "fra"}
    bitext = [
        {"code": c, "name": c, "seen_in_pretraining": c in seen, "mean": v} for c, v in udhr.items()
    ]
    return {
        "tasks": {
            "udhr-bitext": {"asymmetric": {"per_language": bitext}},
            "multilingual-pool": {
                "asymmetric": {
                    "languages": [ENGLISH, "fra", "haw"],
                    "map": pool_map,
                    "english_share_top10": english,
                }
            },
            "code-switched": {
                "asymmetric": {"source_languages": ["fra"], "acc1_third_language": pool_map}
            },
            "questions": {
                "asymmetric": {"per_language": {c: {"acc1": v} for c, v in questions.items()}}
            },
        }
    }


BASE = _entry(
    {"swh": 0.9, "wol": 0.9, "fra": 0.8, "haw": 0.2},
    pool_map=0.30,
    english=0.20,
    questions={ENGLISH: 1.0, "swh": 0.9, "fra": 0.6, "haw": 0.3},
)


def test_row_figures_take_one_split_only() -> None:
    test = row_figures(BASE, TEST)
    assert test["udhr_all"] == pytest.approx(0.5)  # fra and haw: swh and wol are development
    assert (test["udhr_seen"], test["udhr_unseen"]) == pytest.approx((0.8, 0.2))
    assert test["questions_acc1_by_language"] == {"fra": 0.6, "haw": 0.3}  # not English
    assert (test["pool_map"], test["pool_english_share_top10"]) == (0.30, 0.20)
    development = row_figures(BASE, DEVELOPMENT)
    assert (development["udhr_seen"], development["udhr_unseen"]) == pytest.approx((0.9, 0.9))
    assert development["questions_macro_acc1"] == pytest.approx(0.9)
    assert development["pool_map"] is None  # a test-split pool does not count there
    assert development["codeswitch_acc1"] is None


def _met(base: dict[str, Any], student: dict[str, Any]) -> dict[str, bool | None]:
    return {goal: met for goal, met, _ in goal_checks(base, student)}


def _row(entry: dict[str, Any], passages: float | None, queries: float | None) -> dict[str, Any]:
    figures = row_figures(entry, TEST)
    return figures | {"encode_passages_per_s": passages, "encode_queries_per_s": queries}


def test_goals_met_and_not_met() -> None:
    better = _entry(
        {"swh": 0.1, "wol": 0.1, "fra": 0.8, "haw": 0.25},  # development figures don't count
        pool_map=0.31,
        english=0.19,
        questions={ENGLISH: 0.1, "swh": 0.1, "fra": 0.6, "haw": 0.4},
    )
    base, student = _row(BASE, 100.0, 300.0), _row(better, 200.0, 610.0)
    assert set(_met(base, student).values()) == {True}
    checks = {goal: figures for goal, _, figures in goal_checks(base, student)}
    assert checks["speed: short queries >= 2x the base int8"] == "2.03x (610.0 vs 300.0)"
    assert checks["English questions acc@1 >= base in every language"] == (
        "2 of 2 languages; macro 0.500 vs 0.450"
    )

    worse = _entry(
        {"swh": 1.0, "wol": 1.0, "fra": 0.79, "haw": 0.3},
        pool_map=0.29,
        english=0.21,  # more English in a foreign query's top 10: worse
        questions={ENGLISH: 1.0, "swh": 1.0, "fra": 0.5, "haw": 0.9},  # macro up, fra down
    )
    met = _met(base, _row(worse, 199.0, 600.0))
    assert met == {
        "speed: UDHR paragraphs >= 2x the base int8": False,
        "speed: short queries >= 2x the base int8": True,
        "UDHR acc@1, all languages >= base": True,
        "UDHR acc@1, seen languages >= base": False,
        "UDHR acc@1, unseen languages >= base": True,
        "pool mAP >= base": False,
        "pool: English in a foreign query's top 10 <= base": False,
        "code-switched acc@1 >= base": False,
        "English questions acc@1 >= base in every language": False,
    }


def test_goals_not_measured_are_said_so_not_zero() -> None:
    """A run before the split (pool over development languages, no short-query speed, no
    questions) keeps rendering: those rows read *not measured*."""
    older = {
        "tasks": {
            "udhr-bitext": BASE["tasks"]["udhr-bitext"],
            "multilingual-pool": {
                "asymmetric": {"languages": [ENGLISH, "swh", "fra"], "map": 0.3}
                | {"english_share_top10": 0.2}
            },
        }
    }
    base, student = _row(older, 100.0, None), _row(older, 250.0, None)
    lines = goal_table(base, student)
    assert "| speed: UDHR paragraphs >= 2x the base int8 | yes | 2.50x (250.0 vs 100.0) |" in lines
    assert "| speed: short queries >= 2x the base int8 | not measured | not measured |" in lines
    assert "| pool mAP >= base | not measured | not measured |" in lines
    assert "| code-switched acc@1 >= base | not measured | not measured |" in lines
    assert "| UDHR acc@1, unseen languages >= base | yes | 0.200 vs 0.200 |" in lines
    assert not any("0.000" in line for line in lines)


def test_the_goal_section_of_results_before_the_split(tmp_path: Path) -> None:
    def encoder(role: str, nt: float) -> dict[str, Any]:
        tasks = BASE["tasks"] | {"bible-nt": {"asymmetric": {"acc1": nt}}}
        return {"role": role, "variant": "int8", "name": role, "tasks": tasks}

    results = {
        "languages": {"codes": ["swh", "wol", "fra", "haw"]},
        "encoders": [encoder("model", 0.88), encoder("baseline", 0.625)],
        "side_by_side": {"texts": 256, "rounds": 3, "passages_per_s": {"model": 2, "baseline": 1}},
    }
    text = "\n".join(_goals_section(results))
    assert "2 of the 4 evaluated UDHR languages" in text
    assert "| speed: UDHR paragraphs >= 2x the base int8 | yes | 2.00x (2.0 vs 1.0) |" in text
    assert "| speed: short queries >= 2x the base int8 | not measured | not measured |" in text
    assert "In-domain, not a goal: Chichewa New Testament → English acc@1 88.0 vs 62.5" in text
    assert "Chichewa" not in "\n".join(goal_table(BASE, BASE))  # never a goal


def test_the_committed_report_renders_again(tmp_path: Path) -> None:
    """docs/eval/results.json as recorded: every goal row has figures or says not measured."""
    results = json.loads((REPO_ROOT / "docs" / "eval" / "results.json").read_text("utf-8"))
    text = write_report(results, tmp_path).read_text(encoding="utf-8")
    section = text[text.index("## Distillation goals") : text.index("## UDHR bitext retrieval")]
    rows = [line for line in section.splitlines() if line.startswith(("| speed", "| UDHR", "| p"))]
    assert len(rows) == 7 and "| English questions" in section and "| code-switched" in section
    for row in rows:
        _, met, figures = row.strip("|").split(" | ")
        assert (met, figures.strip()) == ("not measured", "not measured") or " vs " in figures
