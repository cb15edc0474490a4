"""The data mix of a recipe: capped per (source, language), shuffled, each pair given an e5
prefix. Capping favours breadth: a few big languages must not crowd out the long tail."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from models.data.pairs import ParallelPair
from models.data.sources import load_pairs
from models.distill.recipe import DataSpec

PREFIXES = ("query: ", "passage: ")


@dataclass(frozen=True)
class DataMix:
    pairs: list[ParallelPair]
    prefixes: list[str]  # the e5 prefix each pair is trained with (both sides)

    def counts(self) -> dict[str, dict[str, int]]:
        """{source: {iso639_3: pairs}}, for the model card."""
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for pair in self.pairs:
            table[pair.source][pair.iso639_3] += 1
        return {source: dict(sorted(c.items())) for source, c in sorted(table.items())}


def build_mix(spec: DataSpec, seed: int, package_cache: Path) -> DataMix:
    wanted = set(spec.languages)
    groups: dict[tuple[str, str], list[ParallelPair]] = defaultdict(list)
    for pair in load_pairs(spec.sources, package_cache):
        if not wanted or pair.iso639_3 in wanted:
            groups[(pair.source, pair.iso639_3)].append(pair)
    rng = random.Random(seed)
    pairs: list[ParallelPair] = []
    for key in sorted(groups):
        group = groups[key]
        rng.shuffle(group)
        source = key[0]
        cap = spec.max_pairs_per_language_by_source.get(source, spec.max_pairs_per_language)
        pairs.extend(group[:cap])
    rng.shuffle(pairs)
    if not pairs:
        raise ValueError(f"the data mix is empty: {spec}")
    return DataMix(pairs, [rng.choice(PREFIXES) for _ in pairs])
