"""Multilingual pool: the UDHR paragraphs that English and the first 29 evaluated test-split
languages all share, in one index. Every paragraph is a query against all the other items; its
relevant items are the same paragraph in each other language. Scored by mAP over the full
ranking, and by the share of each query's top 10 that is in its own language (and in English,
for non-English queries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.crosscheck.common import (
    ENGLISH,
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    RESULTS,
    committed_task,
    figure,
)
from models.crosscheck.encoder import TextEncoder
from models.crosscheck.udhr import UnitKey, english_units, evaluated_alignments

POOL_SIZE = 30  # languages, English included
TOP_K = 10
QUERY_CHUNK = 128  # queries ranked at once (memory: chunk x relevant x items booleans)

Paragraphs = Mapping[str, Mapping[UnitKey, str]]  # language -> unit -> paragraph


# The development split, restated (the 22 named low-resource languages): the pool is a test-split
# task, so it draws on every other evaluated language.
DEVELOPMENT_LANGUAGES = frozenset(
    {
        "swh", "yor", "hau_NG", "ibo", "amh", "som", "zul", "xho", "nya_chinyanja", "kin", "wol",
        "aka_akuapem", "lin", "lug", "ewe", "quz", "gug", "khm", "lao", "mya", "nep", "sin",
    }
)  # fmt: skip


def pool_languages(codes: Sequence[str], size: int = POOL_SIZE) -> list[str]:
    """English, then the first `size - 1` of the evaluated test-split languages."""
    test_split = [c for c in codes if c != ENGLISH and c not in DEVELOPMENT_LANGUAGES]
    return [ENGLISH, *test_split[: size - 1]]


def pool_paragraphs(languages: Sequence[str], package: Path | None = None) -> Paragraphs:
    """Each language's aligned paragraphs by unit (English: all of its paragraphs)."""
    english, alignments = evaluated_alignments([c for c in languages if c != ENGLISH], package)
    paragraphs: dict[str, Mapping[UnitKey, str]] = {ENGLISH: english_units(english)}
    for alignment in alignments:
        paragraphs[alignment.code] = dict(zip(alignment.units, alignment.translation, strict=True))
    return {code: paragraphs[code] for code in languages}


def shared_units(paragraphs: Paragraphs, languages: Sequence[str]) -> list[UnitKey]:
    """The units every language of the pool has, in document order."""
    return sorted(set.intersection(*(set(paragraphs[code]) for code in languages)))


@dataclass(frozen=True)
class PoolScore:
    languages: list[str]
    paragraphs_per_language: int
    map: float
    map_by_language: dict[str, float]
    own_language_share_top10: float
    english_share_top10: float | None  # over non-English queries; None without English
    ties: int  # (query, relevant item) pairs whose score another candidate matches exactly


def relevant_items(languages: int, units: int) -> Any:
    """(items, languages - 1) indices: item `l * units + u`'s translations `l' * units + u`."""
    import torch

    items = languages * units
    language = torch.arange(items) // units
    unit = torch.arange(items) % units
    grid = torch.arange(languages).expand(items, languages)
    columns = grid * units + unit[:, None]
    return columns[grid != language[:, None]].view(items, languages - 1)


def average_precisions(scores: Any, relevant: Any) -> tuple[Any, int]:
    """Per query, the mean over its relevant items r of (relevant items ranked at or above r) /
    (rank of r), with rank = 1 + the candidates scoring strictly higher; and the number of
    (query, relevant item) pairs tied with another candidate (where the order is arbitrary)."""
    import torch

    precisions, ties = [], 0
    for start in range(0, len(scores), QUERY_CHUNK):
        rows = scores[start : start + QUERY_CHUNK]
        targets = rows.gather(1, relevant[start : start + QUERY_CHUNK])  # (chunk, relevant)
        higher = (rows[:, None, :] > targets[:, :, None]).sum(dim=2)
        tied = (rows[:, None, :] == targets[:, :, None]).sum(dim=2) - 1
        relevant_higher = (targets[:, None, :] > targets[:, :, None]).sum(dim=2)
        precision = (relevant_higher + 1).to(torch.float64) / (higher + 1).to(torch.float64)
        precisions.append(precision.mean(dim=1))
        ties += int((tied > 0).sum())
    return torch.cat(precisions), ties


def score_pool(paragraphs: Paragraphs, languages: Sequence[str], encoder: TextEncoder) -> PoolScore:
    import torch

    units = shared_units(paragraphs, languages)
    items = len(languages) * len(units)
    if len(languages) < 2 or items <= TOP_K:
        raise ValueError(f"a pool of {len(languages)} languages x {len(units)} units is too small")
    queries, candidates = [], []
    for code in languages:
        texts = [paragraphs[code][unit] for unit in units]
        queries.append(encoder.encode(texts, QUERY_PREFIX))
        candidates.append(encoder.encode(texts, PASSAGE_PREFIX))
    scores = torch.cat(queries) @ torch.cat(candidates).T
    scores.fill_diagonal_(-torch.inf)  # a paragraph does not retrieve itself
    precisions, ties = average_precisions(scores, relevant_items(len(languages), len(units)))
    item_language = torch.arange(items) // len(units)
    top_language = item_language[scores.topk(TOP_K, dim=1).indices]
    own = (top_language == item_language[:, None]).to(torch.float64).mean()
    english_share = None
    if ENGLISH in languages:
        english = languages.index(ENGLISH)
        others = top_language[item_language != english]
        english_share = float((others == english).to(torch.float64).mean())
    by_language = precisions.view(len(languages), len(units)).mean(dim=1)
    return PoolScore(
        languages=list(languages),
        paragraphs_per_language=len(units),
        map=float(precisions.mean()),
        map_by_language={code: float(by_language[i]) for i, code in enumerate(languages)},
        own_language_share_top10=float(own),
        english_share_top10=english_share,
        ties=ties,
    )


def evaluate_pool(
    codes: Sequence[str], encoder: TextEncoder, package: Path | None = None
) -> PoolScore:
    """The pool of English and the first 29 test-split languages of `codes` (the evaluated
    languages, in order)."""
    languages = pool_languages(codes)
    return score_pool(pool_paragraphs(languages, package), languages, encoder)


# --------------------------------------------------------------------------- comparison

FIGURES = ("map", "own_language_share_top10", "english_share_top10")


def committed_pool(results: Path = RESULTS) -> dict[str, Any]:
    return committed_task("multilingual-pool", results)


def compare_pool(ours: PoolScore, theirs: Mapping[str, Any]) -> dict[str, Any]:
    figures = {
        name: figure(float(getattr(ours, name)), float(theirs[name]))
        for name in FIGURES
        if getattr(ours, name) is not None and theirs.get(name) is not None
    }
    committed_by_language = theirs.get("map_by_language", {})
    by_language = [
        {"code": code} | figure(value, float(committed_by_language[code]))
        for code, value in ours.map_by_language.items()
        if code in committed_by_language
    ]
    differences = [(name, values["difference"]) for name, values in figures.items()]
    differences += [(f"map {row['code']}", row["difference"]) for row in by_language]
    worst = max(differences, key=lambda item: abs(item[1]))
    same_languages = ours.languages == list(theirs["languages"])
    same_units = ours.paragraphs_per_language == theirs["paragraphs_per_language"]
    return {
        "languages": {"ours": ours.languages, "theirs": theirs["languages"]},
        "paragraphs_per_language": {
            "ours": ours.paragraphs_per_language,
            "theirs": theirs["paragraphs_per_language"],
        },
        "figures": figures,
        "map_by_language": by_language,
        "max_abs_difference": {"value": abs(worst[1]), "figure": worst[0]},
        "agrees": same_languages
        and same_units
        and all(values["within_noise"] for values in figures.values())
        and all(row["within_noise"] for row in by_language),
    }
