"""The exported graphs against transformers' BertModel on the same weights (needs [train])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from app.encoder import OnnxEncoder
from models.bert import BertConfig, StateDict
from models.onnx_export import GraphOptions, bert_to_onnx

torch = pytest.importorskip("torch", reason="torch is in the [train] extra")
transformers = pytest.importorskip("transformers", reason="transformers is in the [train] extra")

pytestmark = pytest.mark.torch


def _padded_batch(encoder: OnnxEncoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """input_ids / attention_mask as OnnxEncoder builds them: right padded with <pad>."""
    encodings = [encoder.tokenizer.encode(t).ids for t in texts]
    seq = max(map(len, encodings))
    ids = np.full((len(texts), seq), encoder.tokenizer.token_to_id("<pad>"), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, tokens in enumerate(encodings):
        ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1
    return ids, mask


def _torch_hidden(model: Any, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
    return np.asarray(out.last_hidden_state.numpy())


@pytest.fixture(scope="module")
def torch_model(model_dir: Path) -> Any:
    return transformers.BertModel.from_pretrained(str(model_dir / "hf")).eval()


@pytest.fixture(scope="module")
def torch_embeddings(model_dir: Path, torch_model: Any, sentences: list[str]) -> np.ndarray:
    """Mean-pooled, L2-normalised passage embeddings from the torch fp32 model."""
    encoder = OnnxEncoder(model_dir, variant="fp32")
    ids, mask = _padded_batch(encoder, [encoder.card.passage_prefix + s for s in sentences])
    hidden = _torch_hidden(torch_model, ids, mask)
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    normalised: np.ndarray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return normalised


@pytest.mark.parametrize(("variant", "threshold"), [("fp32", 0.9999), ("int8", 0.99)])
def test_onnx_matches_torch(
    model_dir: Path,
    torch_embeddings: np.ndarray,
    sentences: list[str],
    variant: str,
    threshold: float,
) -> None:
    ours = OnnxEncoder(model_dir, variant=variant).encode(sentences, "passage")  # type: ignore[arg-type]
    assert float(np.mean(np.sum(ours * torch_embeddings, axis=1))) >= threshold


@pytest.mark.parametrize(
    ("options", "atol"),
    [
        (GraphOptions(), 1e-4),
        (GraphOptions(int8_embeddings=True), 2e-2),
        (GraphOptions(fused=True), 1e-4),
        (GraphOptions(fused=True, int8_embeddings=True, int8_linears=True), 5e-2),
        (
            GraphOptions(fused=True, int8_embeddings=True, int8_linears=True, int8_kernel="blocks"),
            5e-2,
        ),
    ],
)
def test_small_student_exports_through_same_code(
    model_dir: Path, tmp_path: Path, options: GraphOptions, atol: float
) -> None:
    """A 2-layer BERT of another width (as a distilled student) exports and matches torch."""
    config = BertConfig(
        vocab_size=250037,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        pad_token_id=1,
    )
    torch.manual_seed(0)
    student = transformers.BertModel(transformers.BertConfig(**config.to_hf_dict())).eval()
    state: StateDict = {k: v.numpy() for k, v in student.state_dict().items()}

    path = tmp_path / "student.onnx"
    graph = bert_to_onnx(config, state, options)
    path.write_bytes(graph.SerializeToString())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    encoder = OnnxEncoder(model_dir, variant="fp32")
    ids, mask = _padded_batch(encoder, ["passage: short", "passage: Всеобщая декларация 1948"])
    (ours,) = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
    expected = _torch_hidden(student, ids, mask)
    np.testing.assert_allclose(ours[mask == 1], expected[mask == 1], atol=atol)
