"""Input limits that pydantic cannot express alone (they depend on settings)."""

from __future__ import annotations

from collections.abc import Sequence

from app.api.errors import ApiError
from app.settings import Settings


def check_top_k(top_k: int, settings: Settings) -> None:
    if top_k > settings.max_top_k:
        raise ApiError(422, "invalid_request", f"top_k: must be at most {settings.max_top_k}")


def check_offset(offset: int, settings: Settings) -> None:
    if offset > settings.max_offset:
        raise ApiError(422, "invalid_request", f"offset: must be at most {settings.max_offset}")


def check_texts(texts: Sequence[str], settings: Settings, limit_chars: int) -> None:
    if len(texts) > settings.max_texts_per_request:
        raise ApiError(
            413,
            "too_many_texts",
            f"{len(texts)} texts in one request; the limit is {settings.max_texts_per_request}",
        )
    for i, text in enumerate(texts):
        if len(text) > limit_chars:
            raise ApiError(
                413,
                "text_too_long",
                f"text {i} has {len(text)} characters; the limit is {limit_chars}",
            )
