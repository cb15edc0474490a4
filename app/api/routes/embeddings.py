from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter

from app.api.deps import READ, ServiceDep, SettingsDep
from app.api.errors import ApiError
from app.api.limits import check_texts
from app.encoder import Embeddings
from app.schemas import (
    EmbedRequest,
    EmbedResponse,
    OpenAIEmbedding,
    OpenAIEmbeddingsRequest,
    OpenAIEmbeddingsResponse,
    OpenAIUsage,
    error_responses,
)

router = APIRouter(tags=["embeddings"], dependencies=READ)
TOO_LARGE = error_responses(413, 415)


@router.post("/v1/embed", response_model=EmbedResponse, responses=TOO_LARGE)
def embed(body: EmbedRequest, service: ServiceDep, settings: SettingsDep) -> EmbedResponse:
    """Embed texts as queries or passages (L2-normalised; compare with a dot product)."""
    check_texts(body.texts, settings, settings.max_text_chars)
    texts = service.fit_to_window(body.texts, body.kind) if body.truncate else body.texts
    vectors = service.embed(texts, body.kind)
    return EmbedResponse(
        embeddings=vectors.tolist(), model=service.model_name, dim=int(vectors.shape[1])
    )


@router.post("/v1/embeddings", response_model=OpenAIEmbeddingsResponse, responses=TOO_LARGE)
def openai_embeddings(
    body: OpenAIEmbeddingsRequest, service: ServiceDep, settings: SettingsDep
) -> OpenAIEmbeddingsResponse:
    """OpenAI-compatible embeddings. `input_type` (query|passage) picks the model's prefix."""
    dim = service.encoder.dim
    if body.dimensions is not None and body.dimensions != dim:
        raise ApiError(
            422,
            "invalid_request",
            f"dimensions: this model's vectors have {dim} dimensions and are not trained to be "
            "shortened; leave `dimensions` out",
        )
    texts = [body.input] if isinstance(body.input, str) else body.input
    check_texts(texts, settings, settings.max_text_chars)
    if body.truncate:
        texts = service.fit_to_window(texts, body.input_type)
    vectors = service.embed(texts, body.input_type)
    tokens = service.count_tokens(texts, body.input_type)
    encode = _base64 if body.encoding_format == "base64" else _floats
    return OpenAIEmbeddingsResponse(
        data=[OpenAIEmbedding(index=i, embedding=encode(v)) for i, v in enumerate(vectors)],
        model=service.model_name,
        usage=OpenAIUsage(prompt_tokens=tokens, total_tokens=tokens),
    )


def _floats(vector: Embeddings) -> list[float]:
    values: list[float] = vector.tolist()
    return values


def _base64(vector: Embeddings) -> str:
    """OpenAI's format: the little-endian float32 bytes, base64-encoded."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
