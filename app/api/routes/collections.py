from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import READ, WRITE, ServiceDep, SettingsDep
from app.api.limits import check_texts
from app.schemas import (
    COLLECTION_NAME,
    CollectionsResponse,
    DeletedResponse,
    DocumentOut,
    LanguagesResponse,
    UpsertDocumentsRequest,
    UpsertDocumentsResponse,
    error_responses,
)

router = APIRouter(tags=["collections"])
NOT_FOUND = error_responses(404)
CollectionPath = Annotated[str, Path(pattern=COLLECTION_NAME)]
DocumentIdPath = Annotated[str, Path(min_length=1, max_length=256)]


@router.get("/v1/collections", response_model=CollectionsResponse, dependencies=READ)
def list_collections(service: ServiceDep) -> CollectionsResponse:
    return CollectionsResponse(collections=service.collections())


@router.get(
    "/v1/collections/{name}/languages",
    response_model=LanguagesResponse,
    responses=NOT_FOUND,
    dependencies=READ,
)
def collection_languages(name: CollectionPath, service: ServiceDep) -> LanguagesResponse:
    """The languages present in a collection, with passage counts."""
    return LanguagesResponse(collection=name, languages=service.languages(name))


@router.post(
    "/v1/collections/{name}/documents",
    response_model=UpsertDocumentsResponse,
    responses=error_responses(409, 413),
    dependencies=WRITE,
)
def upsert_documents(
    name: CollectionPath,
    body: UpsertDocumentsRequest,
    service: ServiceDep,
    settings: SettingsDep,
) -> UpsertDocumentsResponse:
    """Insert or replace documents by id; long texts are split into passages.

    Creates the collection if needed. Re-sending an unchanged document changes nothing.
    409 when the collection holds the vectors of another model than the one served.
    """
    check_texts([d.text for d in body.documents], settings, settings.max_text_chars)
    return service.upsert_documents(name, body.documents)


@router.get(
    "/v1/collections/{name}/documents/{doc_id}",
    response_model=DocumentOut,
    responses=NOT_FOUND,
    dependencies=READ,
)
def get_document(name: CollectionPath, doc_id: DocumentIdPath, service: ServiceDep) -> DocumentOut:
    return service.get_document(name, doc_id)


@router.delete(
    "/v1/collections/{name}/documents/{doc_id}",
    response_model=DeletedResponse,
    responses=NOT_FOUND,
    dependencies=WRITE,
)
def delete_document(
    name: CollectionPath, doc_id: DocumentIdPath, service: ServiceDep
) -> DeletedResponse:
    deleted = service.delete_document(name, doc_id)
    return DeletedResponse(collection=name, id=doc_id, chunks_deleted=deleted)
