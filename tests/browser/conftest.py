"""Fixtures for the real-browser tests: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from pydantic import SecretStr

from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from tests.conftest import DEMO_COLLECTION, _free_port, serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
# Offline and quiet: no GPU, no QUIC, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The one read key of `keyed_server_url`.
READ_KEY = "browser-test-read-key"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that fails the test on any uncaught JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def keyed_server_url(encoder: OnnxEncoder, demo_store: QdrantEdgeStore) -> Iterator[str]:
    """`live_server_url` with `READ_KEY` configured: the API answers 401 without it.

    Session-scoped like the store it shares: the server closes the store when it stops.
    """
    settings = Settings(default_collection=DEMO_COLLECTION, api_keys_read=SecretStr(READ_KEY))
    service = SearchService(encoder, demo_store, Metrics())
    yield from serve_in_thread(create_app(settings, service), _free_port())
