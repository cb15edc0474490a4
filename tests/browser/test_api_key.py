"""The demo page against a service that wants API keys: it asks for one and then works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import READ_KEY
from tests.browser.test_demo_page import (
    SWAHILI_ARTICLE_18,
    result_attributes,
    search_from_box,
    wait_for_language_list,
    wait_for_results,
)

pytestmark = pytest.mark.browser

KEY_STORAGE = "polysearch.apiKey"


def stored_key(page: Page, storage: str) -> str | None:
    key: str | None = page.evaluate(f"window.{storage}.getItem({KEY_STORAGE!r})")
    return key


def server_message(page: Page, url: str, headers: dict[str, str]) -> str:
    response = page.request.get(f"{url}/v1/languages", headers=headers)
    assert response.status == 401
    message: str = response.json()["error"]["message"]
    return message


def test_key_prompt_appears_on_401_and_a_good_key_searches(
    page: Page, keyed_server_url: str
) -> None:
    missing = server_message(page, keyed_server_url, {})
    wrong = server_message(page, keyed_server_url, {"X-API-Key": "not-the-key"})
    sent_keys: list[str | None] = []

    def record(request: Request) -> None:
        if "/v1/" in request.url:
            sent_keys.append(request.headers.get("x-api-key"))

    page.goto(keyed_server_url)
    key_field = page.get_by_label("API key", exact=True)
    key_error = page.locator("#key-error")

    # The language list gets a 401: the page asks for a key, with a word on why and where it goes.
    expect(key_field).to_be_visible()
    expect(key_field).to_have_attribute("type", "password")
    expect(key_field).to_be_focused()
    expect(key_field).to_have_accessible_description(re.compile("this browser tab only"))
    expect(key_error).to_be_hidden()

    # A search without a key says so.
    page.locator("#q").fill(SWAHILI_ARTICLE_18)
    page.locator("#q").press("Enter")
    expect(page.locator("#status")).to_have_attribute("data-kind", "error")
    expect(page.locator("#status")).to_contain_text(missing)

    # A wrong key: the server's message next to the field, which is ready for another try.
    page.on("request", record)
    key_field.fill("not-the-key")
    key_field.press("Enter")
    expect(key_error).to_be_visible()
    expect(key_error).to_contain_text(wrong)
    expect(key_field).to_have_attribute("aria-invalid", "true")
    expect(key_field).to_be_focused()
    assert stored_key(page, "sessionStorage") is None, "a refused key is kept"
    assert "not-the-key" in sent_keys

    # The right key: languages load, the current search runs again, the prompt goes away.
    sent_keys.clear()
    key_field.fill(READ_KEY)
    key_field.press("Enter")
    wait_for_results(page)
    assert result_attributes(page, "article")[0] == "18"
    wait_for_language_list(page)
    expect(page.locator("#key-form")).to_be_hidden()
    expect(page.locator("#q")).to_be_focused()
    assert sent_keys, "no API call after the key was given"
    assert set(sent_keys) == {READ_KEY}, f"API calls without the key: {sent_keys}"
    assert stored_key(page, "sessionStorage") == READ_KEY
    assert stored_key(page, "localStorage") is None

    # The tab keeps the key: a reload searches at once, without asking again.
    page.reload()
    wait_for_results(page)
    assert result_attributes(page, "article")[0] == "18"
    search_from_box(page, "freedom of thought")
    expect(page.locator("#key-form")).to_be_hidden()


def test_no_key_prompt_when_the_api_is_open(page: Page, live_server_url: str) -> None:
    page.goto(live_server_url)
    wait_for_language_list(page)
    search_from_box(page, SWAHILI_ARTICLE_18)
    expect(page.locator("#key-form")).to_be_hidden()
    expect(page.locator("#api-key")).to_be_hidden()
    assert stored_key(page, "sessionStorage") is None
