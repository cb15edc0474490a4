"""GET /v1/languages serves the per-language evaluation written into the model card."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.model_card import ModelCard
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from tests.conftest import _free_port, serve_in_thread


def _evaluated_copy(model_dir: Path, target: Path) -> Path:
    """The real model, with an evaluation in its card (ONNX and tokenizer linked, not copied)."""
    card = ModelCard.load(model_dir)
    target.mkdir()
    for file in card.files(model_dir):
        (target / file.name).symlink_to(file)
    languages = {
        "yor": {"name": "Yoruba", "accuracy": 0.46, "seen_in_pretraining": False},
        "swh": {"name": "Swahili", "accuracy": 0.88, "seen_in_pretraining": True},
    }
    replace(card, extra={**card.extra, "languages": languages}).save(target)
    return target


def test_languages_come_from_the_model_card(model_dir: Path, tmp_path: Path) -> None:
    encoder = OnnxEncoder(_evaluated_copy(model_dir, tmp_path / "model"), "int8")
    store = QdrantEdgeStore(tmp_path / "store")
    app = create_app(Settings(), SearchService(encoder, store, Metrics()))
    for url in serve_in_thread(app, _free_port()):
        body = httpx.get(f"{url}/v1/languages").json()
    store.close()
    assert body["evaluated"] is True
    assert body["model"] == "multilingual-e5-small"
    assert body["languages"] == [
        {"code": "swh", "name": "Swahili", "accuracy": 0.88, "seen_in_pretraining": True},
        {"code": "yor", "name": "Yoruba", "accuracy": 0.46, "seen_in_pretraining": False},
    ]
