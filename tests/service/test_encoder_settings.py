"""How the settings share the cores out among encoder calls, and size each call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from app.encoder import GraphSession, OnnxEncoder
from app.model_card import Variant
from app.settings import Settings, usable_cores
from indexer.pipeline import indexing_encoder


def _session_threads(session: GraphSession | None) -> int:
    assert isinstance(session, ort.InferenceSession)
    return int(session.get_session_options().intra_op_num_threads)


def _threads(encoder: OnnxEncoder) -> int:
    return _session_threads(encoder._session)


def test_the_service_runs_one_single_thread_call_per_core_by_default() -> None:
    assert Settings().encode_calls == usable_cores()
    assert Settings(encode_concurrency=3).encode_calls == 3


def test_threads_are_the_cores_shared_out_among_concurrent_calls(model_dir: Path) -> None:
    settings = Settings(models_dir=model_dir.parent, model=model_dir.name)
    assert _threads(OnnxEncoder.from_settings(settings)) == usable_cores()  # one call at a time
    served = OnnxEncoder.from_settings(settings, concurrent_calls=settings.encode_calls)
    assert _threads(served) == 1
    assert _threads(indexing_encoder(settings)) == 1  # the indexer: as many calls at once
    pinned = settings.model_copy(update={"encoder_threads": 3})
    assert _threads(OnnxEncoder.from_settings(pinned, concurrent_calls=2)) == 3


def test_a_query_alone_gets_a_session_on_more_threads_with_the_same_vectors(
    model_dir: Path,
) -> None:
    settings = Settings(
        models_dir=model_dir.parent, model=model_dir.name, encode_concurrency=2,
        encoder_threads=1, solo_query_threads=2,
    )  # fmt: skip
    served = OnnxEncoder.from_settings(settings, concurrent_calls=2, solo_queries=True)
    assert (served.threads, served.solo_threads) == (1, 2)
    assert _threads(served) == 1 and _session_threads(served._solo_session) == 2
    texts = ["Wer hat das Recht auf Bildung?", "haki ya kupumzika", "Everyone has the right."]
    for kind in ("query", "passage"):
        np.testing.assert_array_equal(
            served.encode(texts, kind, solo=True), served.encode(texts, kind)
        )
    # No second session where no query could have the cores to itself, or none is wanted.
    for unused in (
        OnnxEncoder.from_settings(settings, concurrent_calls=2),  # not the service
        indexing_encoder(settings),
        OnnxEncoder.from_settings(
            settings.model_copy(update={"encode_concurrency": 1}), 1, solo_queries=True
        ),
        OnnxEncoder.from_settings(
            settings.model_copy(update={"solo_query_threads": 1}), 2, solo_queries=True
        ),
    ):
        assert unused._solo_session is None and unused.solo_threads == unused.threads


@pytest.mark.parametrize(("variant", "texts_per_call"), [("int8", 32), ("fp32", 32)])
def test_calls_default_to_32_texts_for_both_variants(
    model_dir: Path, variant: Variant, texts_per_call: int
) -> None:
    settings = Settings(models_dir=model_dir.parent, model=model_dir.name, model_variant=variant)
    assert OnnxEncoder.from_settings(settings).batch_size == texts_per_call


def test_a_variable_set_to_the_empty_string_takes_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emptied = ("search_hnsw_ef", "encode_batch_size", "index_on_start", "api_keys_read")
    for name in emptied:
        monkeypatch.setenv(f"POLYSEARCH_{name.upper()}", "")
    monkeypatch.setenv("POLYSEARCH_MAX_TOP_K", "7")  # a value set alongside still counts
    settings = Settings()
    for name in emptied:
        assert getattr(settings, name) == Settings.model_fields[name].default
    assert settings.max_top_k == 7
