from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import READ, ServiceDep, SettingsDep
from app.api.limits import check_texts
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
TOO_LARGE = error_responses(413)


@router.post("/v1/embed", response_model=EmbedResponse, responses=TOO_LARGE)
def embed(body: EmbedRequest, service: ServiceDep, settings: SettingsDep) -> EmbedResponse:
    """Embed texts as queries or passages (L2-normalised; compare with a dot product)."""
    check_texts(body.texts, settings, settings.max_text_chars)
    vectors = service.embed(body.texts, body.kind)
    return EmbedResponse(
        embeddings=vectors.tolist(), model=service.model_name, dim=int(vectors.shape[1])
    )


@router.post("/v1/embeddings", response_model=OpenAIEmbeddingsResponse, responses=TOO_LARGE)
def openai_embeddings(
    body: OpenAIEmbeddingsRequest, service: ServiceDep, settings: SettingsDep
) -> OpenAIEmbeddingsResponse:
    """OpenAI-compatible embeddings. `input_type` (query|passage) picks the model's prefix."""
    texts = [body.input] if isinstance(body.input, str) else body.input
    check_texts(texts, settings, settings.max_text_chars)
    vectors = service.embed(texts, body.input_type)
    tokens = service.count_tokens(texts, body.input_type)
    return OpenAIEmbeddingsResponse(
        data=[OpenAIEmbedding(index=i, embedding=v) for i, v in enumerate(vectors.tolist())],
        model=service.model_name,
        usage=OpenAIUsage(prompt_tokens=tokens, total_tokens=tokens),
    )
