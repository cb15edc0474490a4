"""API keys and roles over real HTTP: 401 without a valid key, 403 for a read key on a write
route, open operations endpoints, CORS closed unless configured, and keys never logged."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.encoder import OnnxEncoder
from app.security import ApiKeyFileError, ApiKeys, Role, check_bind, load_api_keys
from app.settings import Settings
from tests.conftest import ROOT
from tests.reliability.conftest import READ_KEY, WRITE_KEY, LiveApp, serve_app
from tests.reliability.service_process import start_service

DOCS = {"documents": [{"id": "d1", "text": "Everyone has the right to rest and leisure."}]}
READ_ROUTES: list[tuple[str, str, object]] = [
    ("POST", "/v1/search", {"query": "rest", "collection": "keyed"}),
    ("POST", "/v1/embed", {"texts": ["rest"]}),
    ("POST", "/v1/embeddings", {"input": "rest"}),
    ("GET", "/v1/collections", None),
    ("GET", "/v1/collections/keyed/languages", None),
    ("GET", "/v1/collections/keyed/documents/d1", None),
    ("GET", "/v1/languages", None),
]
WRITE_ROUTES: list[tuple[str, str, object]] = [
    ("POST", "/v1/collections/keyed/documents", DOCS),
    ("DELETE", "/v1/collections/keyed/documents/missing", None),
    ("POST", "/v1/admin/backup", None),
]


def _call(
    app: LiveApp, method: str, path: str, body: object, headers: dict[str, str]
) -> httpx.Response:
    return httpx.request(method, app.url + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module", autouse=True)
def _seeded(keyed_app: LiveApp) -> None:
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    assert _call(keyed_app, "POST", "/v1/collections/keyed/documents", DOCS, headers).is_success


@pytest.mark.parametrize(("method", "path", "body"), READ_ROUTES + WRITE_ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": ""}])
def test_missing_or_invalid_key_is_401(
    keyed_app: LiveApp, method: str, path: str, body: object, headers: dict[str, str]
) -> None:
    response = _call(keyed_app, method, path, body, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), READ_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {READ_KEY}"},
        {"X-API-Key": READ_KEY},
        {"Authorization": f"Bearer {WRITE_KEY}"},  # write implies read
    ],
)
def test_read_routes_accept_read_and_write_keys(
    keyed_app: LiveApp, method: str, path: str, body: object, headers: dict[str, str]
) -> None:
    assert _call(keyed_app, method, path, body, headers).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ROUTES)
def test_read_key_on_a_write_route_is_403(
    keyed_app: LiveApp, method: str, path: str, body: object
) -> None:
    response = _call(keyed_app, method, path, body, {"X-API-Key": READ_KEY})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_write_key_writes(keyed_app: LiveApp) -> None:
    headers = {"X-API-Key": WRITE_KEY}
    doc = {"documents": [{"id": "d2", "text": "Everyone has the right to education."}]}
    assert _call(keyed_app, "POST", "/v1/collections/keyed/documents", doc, headers).is_success
    deleted = _call(keyed_app, "DELETE", "/v1/collections/keyed/documents/d2", None, headers)
    assert deleted.json()["chunks_deleted"] == 1


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/", "/openapi.json"])
def test_operations_endpoints_and_demo_page_stay_open(keyed_app: LiveApp, path: str) -> None:
    assert httpx.get(keyed_app.url + path).status_code == 200


def test_metrics_can_require_a_key(tmp_path: Path, encoder: OnnxEncoder) -> None:
    settings = Settings(api_keys_read=SecretStr(READ_KEY), metrics_require_key=True)
    for app in serve_app(tmp_path / "qdrant", encoder, settings):
        assert httpx.get(app.url + "/metrics").status_code == 401
        assert httpx.get(app.url + "/metrics", headers={"X-API-Key": READ_KEY}).is_success


def test_keys_are_never_logged(keyed_app: LiveApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for key in (READ_KEY, WRITE_KEY, "wrong-key-123"):
        for method, path, body in READ_ROUTES + WRITE_ROUTES:
            _call(keyed_app, method, path, body, {"Authorization": f"Bearer {key}"})
    assert caplog.records, "expected access log lines"
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for key in (READ_KEY, WRITE_KEY, "wrong-key-123"):
        assert key not in text
    keys = ApiKeys(read=(READ_KEY.encode(),), write=(WRITE_KEY.encode(),))
    assert READ_KEY not in repr(keys) and WRITE_KEY not in repr(keys)
    assert READ_KEY not in repr(Settings(api_keys_read=SecretStr(READ_KEY)))


def test_cors_is_closed_by_default_and_configurable(
    keyed_app: LiveApp, tmp_path: Path, encoder: OnnxEncoder
) -> None:
    preflight = {
        "Origin": "https://example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    closed = httpx.options(keyed_app.url + "/v1/search", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    settings = Settings(cors_origins="https://example.org")
    for app in serve_app(tmp_path / "qdrant", encoder, settings):
        allowed = httpx.options(app.url + "/v1/search", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://example.org"
        other = httpx.options(
            app.url + "/v1/search", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_keys_from_settings_and_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("# team keys\nread r-file\nwrite w-file\n\n", encoding="utf-8")
    settings = Settings(
        api_keys_read=SecretStr("r1, r2"), api_keys_write=SecretStr("w1"), api_keys_file=key_file
    )
    keys = load_api_keys(settings)
    assert [keys.role_of(k) for k in ("r1", "r2", "r-file")] == [Role.READ] * 3
    assert [keys.role_of(k) for k in ("w1", "w-file")] == [Role.WRITE] * 2
    assert keys.role_of("r") is None and keys.role_of("") is None
    key_file.write_text("admin s3cret-value\n", encoding="utf-8")
    with pytest.raises(ApiKeyFileError) as refused:
        load_api_keys(Settings(api_keys_file=key_file))
    assert "s3cret-value" not in str(refused.value)


@pytest.mark.parametrize(
    ("host", "keys", "allow", "allowed"),
    [
        ("127.0.0.1", "", False, True),
        ("localhost", "", False, True),
        ("::1", "", False, True),
        ("0.0.0.0", "", False, False),
        ("192.168.1.5", "", False, False),
        ("0.0.0.0", "", True, True),
        ("0.0.0.0", "k", False, True),
    ],
)
def test_open_api_binds_to_loopback_only(host: str, keys: str, allow: bool, allowed: bool) -> None:
    settings = Settings(
        host=host, api_keys_read=SecretStr(keys) if keys else None, allow_insecure_bind=allow
    )
    if allowed:
        assert check_bind(settings, load_api_keys(settings))
    else:
        with pytest.raises(PermissionError):
            check_bind(settings, load_api_keys(settings))


def test_python_m_app_refuses_open_non_loopback_bind() -> None:
    env = {"POLYSEARCH_HOST": "0.0.0.0", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert "refusing to listen on 0.0.0.0:8000 without API keys" in run.stderr


def test_python_m_app_says_it_listens_on_loopback_only(tmp_path: Path, model_dir: Path) -> None:
    service = start_service(tmp_path / "data", tmp_path / "log")
    try:
        service.wait_ready()
    finally:
        service.stop()
    assert "the API is open, listening on loopback only" in service.log.read_text()
