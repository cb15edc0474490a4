"""The independent re-implementation (models/crosscheck/) vs the suite and the committed figures.

The independence rule binds `models/crosscheck/` only: these tests import the suite to compare
with it, on the same small inputs, with a cheap deterministic encoder where the model does not
matter (scoring) and with the real model where it does."""

from __future__ import annotations

import ast
import json
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.crosscheck import align, declaration_codes, evaluate, read_declaration
from models.crosscheck.bible import new_testament, strip_footnotes
from models.crosscheck.pool import (
    DEVELOPMENT_LANGUAGES,
    pool_languages,
    pool_paragraphs,
    shared_units,
)
from models.crosscheck.udhr import PREAMBLE, UnitKey
from models.evaluation.split import DEVELOPMENT_LANGUAGES as SUITE_DEVELOPMENT

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "docs" / "eval" / "results.json"
TOLERANCE = 0.02
PREFIXES = {"query": "query: ", "passage": "passage: "}


def _committed() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """results.json's language summary and its fp32 asymmetric UDHR bitext rows by code."""
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
    (entry,) = [e for e in data["encoders"] if e["key"] == "multilingual-e5-small:fp32"]
    rows = entry["tasks"]["udhr-bitext"]["asymmetric"]["per_language"]
    return data["languages"], {row["code"]: row for row in rows}


def _committed_task(task: str) -> dict[str, Any]:
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
    (entry,) = [e for e in data["encoders"] if e["key"] == "multilingual-e5-small:fp32"]
    committed: dict[str, Any] = entry["tasks"][task]["asymmetric"]
    return committed


def _suite_unit(unit: UnitKey) -> str:
    """The suite's name for a unit: `pre.K` or `aN.K`."""
    number, k = unit
    return f"pre.{k}" if number == PREAMBLE else f"a{number}.{k}"


def _trigram_vectors(texts: Sequence[str], prefix: str) -> np.ndarray:
    """A cheap deterministic encoder: hashed character trigrams of `prefix + text`, unit norm."""
    vectors = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        padded = f"  {prefix}{text}  "
        for i in range(len(padded) - 2):
            vectors[row, zlib.crc32(padded[i : i + 3].encode()) % 64] += 1.0
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


class TrigramEncoder:
    """The crosscheck's interface: `encode(texts, prefix)` -> torch tensor."""

    def encode(self, texts: Sequence[str], prefix: str) -> Any:
        import torch

        return torch.from_numpy(_trigram_vectors(texts, prefix))


class SuiteTrigramEncoder:
    """The suite's interface (EvalEncoder): `encode(texts, kind)` -> numpy array."""

    name = "trigrams"
    fingerprint = "trigrams"
    uses_kind = True

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        return _trigram_vectors(texts, PREFIXES[kind])


# --------------------------------------------------------------------------- independence

FORBIDDEN = ("models.evaluation", "models.data", "indexer.udhr", "app.encoder")


def test_crosscheck_imports_nothing_from_the_suite() -> None:
    """Only the generic registry client and its own modules, besides third-party packages."""
    project = ("app", "indexer", "models", "bench")
    for path in sorted((REPO_ROOT / "models" / "crosscheck").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(FORBIDDEN), (path.name, name)
                if name.split(".")[0] in project:
                    assert name == "indexer.registry" or name.startswith("models.crosscheck"), (
                        path.name,
                        name,
                    )


# --------------------------------------------------------------------------- udhr bitext


def test_alignment_selects_the_committed_translations_and_paragraphs() -> None:
    languages, rows = _committed()
    english = read_declaration("eng")
    alignments = [align(english, read_declaration(c)) for c in declaration_codes() if c != "eng"]
    assert len(alignments) + 1 == languages["translations_in_package"]
    assert sum(a.evaluated for a in alignments) == languages["aligned_with_english"]
    by_code = {a.code: a for a in alignments}
    assert {code: len(by_code[code].units) for code in rows} == {
        code: row["paragraphs"] for code, row in rows.items()
    }


@pytest.mark.torch
def test_two_languages_match_the_committed_figures(model_dir: Path) -> None:
    pytest.importorskip("torch", reason="torch is in the [train] extra")
    pytest.importorskip("transformers", reason="transformers is in the [train] extra")
    _, rows = _committed()
    scores = evaluate(["swh", "wol"], model_dir / "hf", progress=False)
    assert [score.code for score in scores] == ["swh", "wol"]
    for score in scores:
        committed = rows[score.code]
        assert score.paragraphs == committed["paragraphs"]
        for metric in ("xx_to_en", "en_to_xx", "mean"):
            assert getattr(score, metric) == pytest.approx(committed[metric], abs=TOLERANCE), (
                score.code,
                metric,
            )


# --------------------------------------------------------------------------- multilingual pool


def _suite_texts(udhr_dir: Path, languages: Sequence[str]) -> dict[str, Any]:
    from indexer.udhr import parse_declaration
    from models.evaluation.udhr_data import aligned_texts

    declarations = [
        parse_declaration((udhr_dir / "declaration" / f"{code}.html").read_text(encoding="utf-8"))
        for code in languages
    ]
    return aligned_texts(declarations)


def test_pool_selects_the_committed_languages_and_paragraphs(udhr_dir: Path) -> None:
    languages_summary, _ = _committed()
    committed = _committed_task("multilingual-pool")
    languages = pool_languages(languages_summary["codes"])
    assert languages == committed["languages"]
    units = shared_units(pool_paragraphs(languages), languages)
    assert len(units) == committed["paragraphs_per_language"]
    texts = _suite_texts(udhr_dir, languages)
    suite_shared = set.intersection(*(set(texts[code].unit_ids) for code in languages))
    assert {_suite_unit(unit) for unit in units} == suite_shared


@pytest.mark.torch
def test_pool_scores_match_the_suite_on_a_small_pool(udhr_dir: Path) -> None:
    pytest.importorskip("torch", reason="torch is in the [train] extra")
    from models.crosscheck.pool import score_pool
    from models.evaluation.pool import pool_scores
    from models.evaluation.protocols import ASYMMETRIC

    languages = ["eng", "swh", "yor"]
    texts = _suite_texts(udhr_dir, languages)
    units = shared_units(pool_paragraphs(languages), languages)[:8]
    ids = [_suite_unit(unit) for unit in units]
    small = {}
    for code in languages:
        by_id = dict(zip(texts[code].unit_ids, texts[code].paragraphs, strict=True))
        small[code] = replace(
            texts[code], unit_ids=tuple(ids), paragraphs=tuple(by_id[i] for i in ids)
        )
    theirs = pool_scores(SuiteTrigramEncoder(), small, languages, ASYMMETRIC)
    paragraphs = {code: dict(zip(units, small[code].paragraphs, strict=True)) for code in languages}
    ours = score_pool(paragraphs, languages, TrigramEncoder())
    assert ours.ties == 0
    assert ours.paragraphs_per_language == theirs["paragraphs_per_language"] == 8
    for name in ("map", "own_language_share_top10", "english_share_top10"):
        assert getattr(ours, name) == pytest.approx(theirs[name], abs=1e-6), name
    assert ours.map_by_language == pytest.approx(theirs["map_by_language"], abs=1e-6)
    assert 0 < ours.map < 1


@pytest.mark.torch
def test_average_precisions_match_the_suite_metric_on_random_scores() -> None:
    torch = pytest.importorskip("torch", reason="torch is in the [train] extra")
    from models.crosscheck.pool import average_precisions, relevant_items
    from models.evaluation.metrics import average_precisions as suite_average_precisions

    languages, units = 4, 5
    scores = torch.from_numpy(np.random.default_rng(7).normal(size=(20, 20)).astype(np.float32))
    scores.fill_diagonal_(-torch.inf)
    relevant = relevant_items(languages, units)
    mask = np.zeros((20, 20), dtype=bool)
    mask[np.arange(20)[:, None], relevant.numpy()] = True
    assert mask.sum() == 20 * (languages - 1) and not mask.diagonal().any()
    ours, ties = average_precisions(scores, relevant)
    assert ties == 0
    assert ours.numpy() == pytest.approx(suite_average_precisions(scores.numpy(), mask))


# --------------------------------------------------------------------------- bible NT


def test_footnotes_are_stripped() -> None:
    assert strip_footnotes("God{After “God,” a note.} created.") == "God created."
    assert strip_footnotes(" a{b{c}d}e ") == "ae"
    with pytest.raises(ValueError, match="unbalanced"):
        strip_footnotes("a}b")
    with pytest.raises(ValueError, match="unbalanced"):
        strip_footnotes("a{b")


def test_new_testament_alignment_matches_the_suite_and_the_committed_counts() -> None:
    from models.evaluation.bible_nt import new_testament_pairs

    ours = new_testament()
    theirs = new_testament_pairs()
    committed = _committed_task("bible-nt")
    assert len(ours.chichewa) == len(theirs.chichewa) == committed["verses"]
    assert ours.chapters == theirs.chapters == committed["chapters"]
    assert ours.chichewa == theirs.chichewa
    assert ours.english == theirs.english
    assert len(ours.references) == len(set(ours.references)) == len(ours.chichewa)
    assert all(40 <= book <= 66 for book, _, _ in ours.references)


@pytest.mark.torch
def test_bible_scores_match_the_suite_on_a_few_verses() -> None:
    pytest.importorskip("torch", reason="torch is in the [train] extra")
    from models.crosscheck.bible import score_bible
    from models.evaluation.bible_nt import VersePairs, bible_scores
    from models.evaluation.protocols import ASYMMETRIC

    head = new_testament().head(60)
    pairs = VersePairs(head.chichewa, head.english, head.chapters)
    theirs = bible_scores(SuiteTrigramEncoder(), pairs, ASYMMETRIC)
    ours = score_bible(head, TrigramEncoder())
    assert (ours.verses, ours.chapters) == (theirs["verses"], theirs["chapters"]) == (60, 3)
    assert ours.acc1 == pytest.approx(theirs["acc1"], abs=1e-12)
    assert ours.mrr10 == pytest.approx(theirs["mrr10"], abs=1e-12)
    assert 0 < ours.mrr10 < 1


@pytest.mark.torch
def test_target_ranks_count_ties_against_the_target() -> None:
    torch = pytest.importorskip("torch", reason="torch is in the [train] extra")
    from models.crosscheck.bible import target_ranks

    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    candidates = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])  # 0 and 1 are equal
    ranks, ties = target_ranks(queries, candidates)
    assert ranks.tolist() == [2, 3, 1]  # query 1 scores 0 on both of its first two
    assert ties == 2  # queries 0 and 1: their targets are equal candidates


@pytest.mark.torch
def test_few_verses_with_the_model_match_the_onnx_suite(model_dir: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is in the [train] extra")
    pytest.importorskip("transformers", reason="transformers is in the [train] extra")
    from models.crosscheck.bible import score_bible
    from models.crosscheck.encoder import E5Encoder
    from models.evaluation.bible_nt import VersePairs, bible_scores
    from models.evaluation.encoders import OnnxModelEncoder
    from models.evaluation.protocols import ASYMMETRIC

    head = new_testament().head(16)
    encoder = E5Encoder(model_dir / "hf")
    ours = score_bible(head, encoder)
    assert encoder.encoded == 32
    again = encoder.encode([head.english[0], head.english[0]], "passage: ")
    assert encoder.encoded == 32 and torch.equal(again[0], again[1])
    suite_encoder = OnnxModelEncoder(model_dir, "fp32", threads=1)
    theirs = bible_scores(suite_encoder, VersePairs(head.chichewa, head.english, 1), ASYMMETRIC)
    assert ours.acc1 == pytest.approx(theirs["acc1"], abs=1e-9)
    assert ours.mrr10 == pytest.approx(theirs["mrr10"], abs=1e-9)
    onnx = torch.from_numpy(suite_encoder.encode(head.chichewa, "query"))
    torch_vectors = encoder.encode(head.chichewa, "query: ")
    assert (onnx * torch_vectors).sum(dim=1).min() > 0.9999


# --------------------------------------------------------------------------- report


@pytest.mark.torch
def test_report_has_a_section_and_a_summary_line_per_task() -> None:
    pytest.importorskip("torch", reason="torch is in the [train] extra")
    pytest.importorskip("transformers", reason="transformers is in the [train] extra")
    from models.crosscheck.report import markdown, summary
    from models.crosscheck.run import build_report, command_line, run_tasks

    languages, _ = _committed()
    all_tasks = ["udhr", "pool", "bible-nt"]
    tasks = run_tasks(all_tasks, languages["codes"], 1, 40, TrigramEncoder(), RESULTS)
    report = build_report(command_line(all_tasks, 1, 40), RESULTS, tasks, 0)
    assert report["command"] == "python -m models.crosscheck --languages 1 --verses 40"
    assert [row["code"] for row in tasks["udhr"]["comparison"]["per_language"]] == ["swh"]
    pool = tasks["pool"]["comparison"]
    assert pool["languages"]["ours"] == pool["languages"]["theirs"]
    assert pool["paragraphs_per_language"]["ours"] == pool["paragraphs_per_language"]["theirs"]
    assert not tasks["bible-nt"]["comparison"]["agrees"]  # 40 verses are not the committed 7919
    text = markdown(report)
    for title in ("UDHR bitext", "Multilingual pool", "Chichewa New Testament → English"):
        assert f"\n## {title}\n" in text
    assert "Only the first 40 verses" in text
    summary_table = text.split("| task | verdict |")[1].split("\n\n")[0]
    assert all(line.count("|") == 3 for line in summary_table.strip().splitlines())
    lines = summary(report).splitlines()
    assert [line.split(":")[0] for line in lines] == all_tasks
    assert lines[2].endswith("DIFFERS")
    json.dumps(report)  # what crosscheck.json gets


def test_the_restated_development_split_is_the_suites() -> None:
    """The cross-check restates the split (it imports nothing from the suite); the two must not
    drift apart, or its pool would draw on other languages than the suite's."""
    assert set(DEVELOPMENT_LANGUAGES) == set(SUITE_DEVELOPMENT)
