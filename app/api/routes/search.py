from __future__ import annotations

import time

from fastapi import APIRouter

from app.api.deps import READ, ServiceDep, SettingsDep
from app.api.limits import check_offset, check_texts, check_top_k
from app.schemas import SearchRequest, SearchResponse, error_responses

router = APIRouter(tags=["search"], dependencies=READ)


@router.post(
    "/v1/search",
    response_model=SearchResponse,
    responses=error_responses(404, 409, 413, 415),
)
def search(body: SearchRequest, service: ServiceDep, settings: SettingsDep) -> SearchResponse:
    """Rank the collection's passages against a query in any language: by meaning (dense),
    by words (lexical, BM25) or both (hybrid, the default)."""
    start = time.perf_counter()
    check_top_k(body.top_k, settings)
    check_offset(body.offset, settings)
    check_texts([body.query], settings, settings.max_query_chars)
    collection = body.collection or settings.default_collection
    mode = service.search_mode(collection, body.mode)
    languages = service.languages_meant(collection, body.languages)
    results = service.search(
        collection,
        body.query,
        body.top_k,
        languages,
        body.conditions(),
        body.group_by,
        mode,
        body.highlight,
        body.offset,
    )
    return SearchResponse(
        query=body.query,
        collection=collection,
        model=service.model_name,
        mode=mode,
        languages=languages,
        took_ms=round((time.perf_counter() - start) * 1000, 2),
        results=results,
    )
