"""Secrets in the settings never show in their repr (which logs and tracebacks print)."""

from __future__ import annotations

import pytest

from app.settings import Settings


def test_the_qdrant_api_key_is_not_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_API_KEY", "qdrant-secret-8c1f")
    monkeypatch.setenv("POLYSEARCH_API_KEYS_WRITE", "write-secret-77ad")
    settings = Settings()
    assert settings.qdrant_api_key is not None
    assert settings.qdrant_api_key.get_secret_value() == "qdrant-secret-8c1f"
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "qdrant-secret-8c1f" not in shown
        assert "write-secret-77ad" not in shown
