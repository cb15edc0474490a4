from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.api.deps import READ, WRITE, RuntimeDep, ServiceDep, SettingsDep, get_service
from app.api.limits import check_texts
from app.documents.record import MAX_ID_CHARS
from app.schemas import (
    COLLECTION_NAME,
    CollectionDeletedResponse,
    CollectionsResponse,
    DeletedResponse,
    DocumentOut,
    IndexingResponse,
    LanguagesResponse,
    UpsertDocumentsRequest,
    UpsertDocumentsResponse,
    error_responses,
)
from app.store.validation import COLLECTION_NAME_RULE

router = APIRouter(tags=["collections"])
NOT_FOUND = error_responses(404)
CollectionPath = Annotated[
    str, Path(pattern=COLLECTION_NAME, description=f"The collection: {COLLECTION_NAME_RULE}.")
]
# `{doc_id:path}`: an id may hold any character, `/` included (`eng/1`); percent-encode it.
DocumentIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="The document id, percent-encoded: `eng/1` as `eng%2F1` (or as is); "
        "dots as `%2E` in an id such as `..`, which clients would otherwise collapse.",
    ),
]


@router.get("/v1/collections", response_model=CollectionsResponse, dependencies=READ)
def list_collections(service: ServiceDep) -> CollectionsResponse:
    return CollectionsResponse(collections=service.collections())


@router.get(
    "/v1/indexing",
    response_model=IndexingResponse,
    responses=error_responses(503),
    dependencies=[*READ, Depends(get_service)],  # 503 while loading: its jobs are not known yet
)
def indexing(runtime: RuntimeDep) -> IndexingResponse:
    """Progress of the service's own indexing jobs (the start-up corpus)."""
    job = runtime.background
    jobs = [] if job is None else [job.progress()]
    return IndexingResponse(jobs=jobs)


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
    responses=error_responses(409, 413, 415, 422),
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
    An id may appear only once per request (422 otherwise). 409 when the collection holds the
    vectors of another model than the one served, or vectors of another dimension.
    """
    check_texts([d.text for d in body.documents], settings, settings.max_text_chars)
    return service.upsert_documents(name, body.documents)


@router.get(
    "/v1/collections/{name}/documents/{doc_id:path}",
    response_model=DocumentOut,
    responses=NOT_FOUND,
    dependencies=READ,
)
def get_document(name: CollectionPath, doc_id: DocumentIdPath, service: ServiceDep) -> DocumentOut:
    return service.get_document(name, doc_id)


@router.delete(
    "/v1/collections/{name}/documents/{doc_id:path}",
    response_model=DeletedResponse,
    responses=NOT_FOUND,
    dependencies=WRITE,
)
def delete_document(
    name: CollectionPath, doc_id: DocumentIdPath, service: ServiceDep
) -> DeletedResponse:
    deleted = service.delete_document(name, doc_id)
    return DeletedResponse(collection=name, id=doc_id, chunks_deleted=deleted)


@router.delete(
    "/v1/collections/{name}",
    response_model=CollectionDeletedResponse,
    responses=NOT_FOUND,
    dependencies=WRITE,
)
def delete_collection(name: CollectionPath, service: ServiceDep) -> CollectionDeletedResponse:
    """Delete a collection and all its documents.

    404 when there is no such collection, so deleting twice answers 200 then 404 (the state
    is the same either way). A later upsert creates it again, empty.
    """
    return CollectionDeletedResponse(
        collection=name, points_deleted=service.delete_collection(name)
    )
