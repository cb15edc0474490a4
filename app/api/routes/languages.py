from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import READ, ServiceDep
from app.schemas import ModelLanguagesResponse

router = APIRouter(tags=["languages"], dependencies=READ)
METRIC = "UDHR paragraph retrieval accuracy@1, mean of xx→en and en→xx (held out)"


@router.get("/v1/languages", response_model=ModelLanguagesResponse)
def model_languages(service: ServiceDep) -> ModelLanguagesResponse:
    """How reliably the served model handles each language, from its evaluation."""
    languages = service.model_languages()
    return ModelLanguagesResponse(
        model=service.model_name, evaluated=bool(languages), metric=METRIC, languages=languages
    )
