"""The demo page's "Group by article" in a real headless Chromium against the real service."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_demo_page import (
    SWAHILI_ARTICLE_18,
    result_attributes,
    search_from_box,
    wait_for_results,
)
from tests.conftest import DEMO_LANGUAGES

pytestmark = pytest.mark.browser


def test_grouped_results_show_ten_articles_with_translations_a_click_away(
    page: Page, live_server_url: str
) -> None:
    page.goto(live_server_url)
    page.get_by_label("Group by article").check()
    search_from_box(page, SWAHILI_ARTICLE_18)

    articles = result_attributes(page, "article")
    assert len(articles) == 10
    assert len(set(articles)) == 10, f"an article repeats: {articles}"
    assert articles[0] == "18"
    assert parse_qs(urlparse(page.url).query)["group"] == ["article"]
    expect(page.locator("#status")).to_contain_text("10 articles")

    first = page.locator("#result-list > li").first
    own_language = result_attributes(page, "language")[0]
    toggle = first.locator(".translations-toggle")
    others = len(DEMO_LANGUAGES) - 1  # the demo collection has every article in each language
    expect(toggle).to_have_text(f"Show {others} translations")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(first.locator(".translations")).to_be_hidden()

    with page.expect_request("**/v1/search") as request_info:
        toggle.click()
    sent = json.loads(request_info.value.post_data or "{}")
    assert sent["filter"] == {"metadata.article": 18}
    assert "group_by" not in sent

    translations = first.locator(".translations > li.translation")
    expect(translations).to_have_count(others)
    languages = translations.evaluate_all("items => items.map(item => item.dataset.language)")
    assert sorted(languages) == sorted(set(DEMO_LANGUAGES) - {own_language})
    expect(translations.first.locator(".result-text")).not_to_be_empty()
    expect(toggle).to_have_attribute("aria-expanded", "true")

    toggle.click()  # closes again, and reopens without asking the server twice
    expect(first.locator(".translations")).to_be_hidden()
    toggle.click()
    expect(translations).to_have_count(others)

    page.reload()  # the shared link keeps the grouping
    wait_for_results(page)
    expect(page.get_by_label("Group by article")).to_be_checked()
    assert len(set(result_attributes(page, "article"))) == 10


def test_unticking_the_box_shows_passages_again(page: Page, live_server_url: str) -> None:
    page.goto(f"{live_server_url}/?q={SWAHILI_ARTICLE_18}&group=article")
    wait_for_results(page)
    expect(page.locator(".translations-toggle")).to_have_count(10)
    page.get_by_label("Group by article").uncheck()
    expect(page.locator(".translations-toggle")).to_have_count(0)
    wait_for_results(page)
    articles = result_attributes(page, "article")
    assert len(set(articles)) < len(articles)  # ungrouped, article 18 comes in many languages
    assert "group" not in parse_qs(urlparse(page.url).query)
