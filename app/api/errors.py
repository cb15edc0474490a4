"""Every error is JSON: `{"error": {"code", "message", "details"?}}` with a fitting status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.backup import BackupInProgressError, BackupUnsupportedError
from app.encode_queue import OverloadedError
from app.encoder import TextTooLongError
from app.service import DocumentNotFoundError
from app.store.base import (
    CollectionNotFoundError,
    DimensionMismatchError,
    EncoderMismatchError,
    LexicalIndexMissingError,
)
from app.store.validation import InvalidCollectionNameError


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        if err.get("type") == "json_invalid":  # its loc is ("body", character position)
            details.append({"field": "body", "message": _json_error(err)})
            continue
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(loc) or "body", "message": err.get("msg", "")})
    return details


def _json_error(err: dict[str, Any]) -> str:
    """'not valid JSON: Expecting value at character 0' from FastAPI's json_invalid error."""
    reason = err.get("ctx", {}).get("error", "")
    position = err.get("loc", ("body",))[-1]
    where = f" at character {position}" if isinstance(position, int) else ""
    return f"not valid JSON: {reason}{where}" if reason else f"not valid JSON{where}"


def _is_json(content_type: str) -> bool:
    """application/json, or any application/*+json (FastAPI parses both as JSON)."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _summary(details: list[dict[str, Any]]) -> str:
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{first['field']}: {first['message']}{more}"


# Errors answered with their own message, by status and code. InvalidCollectionNameError: the
# routes check the same rule first; this keeps any other path to the store a 422.
MESSAGE_AS_IS: dict[type[Exception], tuple[int, str]] = {
    LexicalIndexMissingError: (409, "no_lexical_index"),
    EncoderMismatchError: (409, "model_mismatch"),
    DimensionMismatchError: (409, "dimension_mismatch"),
    InvalidCollectionNameError: (422, "invalid_request"),
    BackupUnsupportedError: (409, "backup_unsupported"),
}


def _answer_with_message(
    status: int, code: str
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def answer(_: Request, exc: Exception) -> JSONResponse:
        return error_response(status, code, str(exc))

    return answer


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        content_type = request.headers.get("content-type")
        errors = exc.errors()
        body_errors = any(err.get("loc", ())[:1] == ("body",) for err in errors)
        if body_errors and content_type is not None and not _is_json(content_type):
            # FastAPI reads such a body as bytes, so every field would read as missing.
            message = (
                f"send the body as JSON, with content-type: application/json (got {content_type})"
            )
            return error_response(415, "unsupported_media_type", message)
        details = _validation_details(errors)
        return error_response(422, "invalid_request", _summary(details), details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body": not UTF-8 JSON
            message = "body: not valid JSON in UTF-8"
            return error_response(
                422, "invalid_request", message, [{"field": "body", "message": message}]
            )
        code = "not_found" if exc.status_code == 404 else "http_error"
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(CollectionNotFoundError)
    async def _no_collection(_: Request, exc: CollectionNotFoundError) -> JSONResponse:
        return error_response(404, "collection_not_found", f"no collection named {exc.args[0]!r}")

    for error, (status, code) in MESSAGE_AS_IS.items():
        app.add_exception_handler(error, _answer_with_message(status, code))

    @app.exception_handler(BackupInProgressError)
    async def _one_backup(_: Request, exc: BackupInProgressError) -> JSONResponse:
        return error_response(409, "backup_in_progress", str(exc), headers={"Retry-After": "10"})

    @app.exception_handler(DocumentNotFoundError)
    async def _no_document(_: Request, exc: DocumentNotFoundError) -> JSONResponse:
        return error_response(404, "document_not_found", f"no document with id {exc.args[0]!r}")

    @app.exception_handler(OverloadedError)
    async def _overloaded(_: Request, exc: OverloadedError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)}
        return error_response(503, "overloaded", str(exc), headers=headers)

    @app.exception_handler(TextTooLongError)
    async def _too_long(_: Request, exc: TextTooLongError) -> JSONResponse:
        # Only the embedding routes meet this (documents are chunked), and they can truncate.
        message = f"{exc}, or send `truncate: true` to embed the part that fits"
        return error_response(413, "text_too_long", message)
