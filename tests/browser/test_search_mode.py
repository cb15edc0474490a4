"""The demo page's "Match by" control, in a real headless Chromium against the real service."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_demo_page import SEARCH_TIMEOUT_MS, result_attributes

pytestmark = pytest.mark.browser

# Two words of the Swahili Article 20: "assembly", "may not be compelled".
ARTICLE_20_WORDS = "mkutano asilazimishwe"


def wait_for_mode(page: Page, mode: str) -> None:
    """Until the results the server ranked in `mode` are shown."""
    expect(page.locator("#results")).to_have_attribute("data-mode", mode, timeout=SEARCH_TIMEOUT_MS)
    expect(page.locator("#status")).not_to_have_attribute("data-kind", "busy")


def test_match_by_words_or_meaning_and_share_the_choice(page: Page, live_server_url: str) -> None:
    page.goto(f"{live_server_url}/?q={quote(ARTICLE_20_WORDS)}&lang=swh")
    wait_for_mode(page, "hybrid")  # the server's default: meaning and words
    expect(page.locator("#mode")).to_have_value("")
    assert result_attributes(page, "article")[0] == "20"

    page.locator("#mode").select_option("lexical")  # changing the mode searches again
    wait_for_mode(page, "lexical")
    assert result_attributes(page, "article")[0] == "20"
    assert set(result_attributes(page, "language")) == {"swh"}
    assert parse_qs(urlparse(page.url).query)["mode"] == ["lexical"]

    page.locator("#q").fill("zzyzxqq")  # no passage holds this word
    page.locator("#q").press("Enter")
    expect(page.locator("#status")).to_have_attribute(
        "data-kind", "empty", timeout=SEARCH_TIMEOUT_MS
    )

    page.goto(f"{live_server_url}/?q={quote(ARTICLE_20_WORDS)}&mode=dense")  # a shared link
    wait_for_mode(page, "dense")
    expect(page.locator("#mode")).to_have_value("dense")
