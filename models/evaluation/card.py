"""Write evaluation figures into the evaluated model's card, where the service reads them
(`GET /v1/languages`, the demo page's reliability hint)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from app.model_card import CARD_FILE, ModelCard, Variant
from app.settings import Settings

# The prefix protocol the service uses (query: / passage:), as named in the results.
SERVED_PROTOCOL = "asymmetric"
# The ONNX variant the service loads unless told otherwise: the card describes that one.
SERVED_VARIANT: Variant = Settings.model_fields["model_variant"].default


# Builders that write an earlier builder's arithmetic in fewer ops: their graphs give that
# builder's outputs bit for bit, so an evaluation of either build holds for both. Checked for
# builder v6 against v5 (docs/bench/int8.md, "Builder v6"): every fp32 and int8 graph of the
# packaged model and both releases, 64 texts alone and two calls of 16, identical. Builder v7
# (release v6) writes v6's graphs with the word embedding tables in an external data file:
# the same check, the same result (docs/bench/int8.md, "Builder v7").
SAME_OUTPUTS_AS = {
    "models.build v6": "models.build v5",
    "models.build v7": "models.build v5",
    "models.release v5": "models.release v4",
    "models.release v6": "models.release v4",
}


def model_identity(card: ModelCard) -> dict[str, Any]:
    """What makes two builds the same model: name, builder (the earliest builder whose graphs
    give the same outputs, `SAME_OUTPUTS_AS`), the sha256 of every source and, for a distilled
    student, its recipe's fingerprint. (File times and paths differ between machines; these do
    not.)"""
    builder = card.extra.get("builder")
    return {
        "name": card.name,
        "builder": SAME_OUTPUTS_AS.get(builder, builder) if isinstance(builder, str) else builder,
        "sources": sorted(source.sha256 for source in card.sources),
        "recipe": card.extra.get("recipe_fingerprint"),
    }


def card_evaluation(
    results: dict[str, Any], identity: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    """(`extra["evaluation"]`, `extra["languages"]`) from a results document, for the model
    under evaluation or, given an identity, for the ONNX model of that identity (a baseline
    too): its served variant when it was evaluated, else its first. None without such a model
    or without the UDHR bitext task."""
    if identity is None:
        entries = [e for e in results["encoders"] if e["role"] == "model"]
    else:
        entries = [e for e in results["encoders"] if e.get("model_identity") == identity]
    served = next((e for e in entries if e["variant"] == SERVED_VARIANT), None)
    entry = served or (entries[0] if entries else None)
    if entry is None or "udhr-bitext" not in entry["tasks"]:
        return None
    bitext = entry["tasks"]["udhr-bitext"][SERVED_PROTOCOL]
    evaluation = {
        "command": results["command"],
        "encoder": entry["key"],
        "variant": entry["variant"],
        "languages_evaluated": results["languages"]["evaluated"],
        "udhr_bitext_acc1": bitext["macro"],
        "throughput_texts_per_s": entry["throughput_texts_per_s"],
    }
    return evaluation, card_languages(bitext["per_language"])


def card_languages(per_language: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{udhr_code: {name, accuracy (UDHR acc@1, mean of both directions), seen_in_pretraining}}."""
    return {
        row["code"]: {
            "name": row["name"],
            "accuracy": round(float(row["mean"]), 4),
            "seen_in_pretraining": bool(row["seen_in_pretraining"]),
        }
        for row in per_language
    }


def write_card_evaluation(
    model_dir: Path, evaluation: dict[str, Any], languages: dict[str, dict[str, Any]]
) -> Path:
    """Replace `extra["evaluation"]` and `extra["languages"]`; the card file is swapped in
    atomically so a service reading it never sees half a file."""
    card = ModelCard.load(model_dir)
    extra = {**card.extra, "evaluation": evaluation, "languages": languages}
    updated = dataclasses.replace(card, extra=extra)
    path = model_dir / CARD_FILE
    partial = path.with_name(f".{CARD_FILE}.{os.getpid()}.partial")
    partial.write_text(updated.to_json(), encoding="utf-8")
    partial.replace(path)
    return path
