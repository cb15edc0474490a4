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


@pytest.mark.parametrize(("width", "one_row"), [(1280, True), (390, False)])
def test_the_search_controls_fit_their_boxes(
    page: Page, live_server_url: str, width: int, one_row: bool
) -> None:
    """Language, Match by and Results share one row on a wide screen (the language takes a row
    of its own on a phone), and no select cuts its chosen option short: "Meaning and words"
    once showed as "Meaning" in a 120-pixel column meant for the results count."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server_url)
    boxes = {}
    for control in ("lang", "mode", "k"):
        select = page.locator(f"#{control}")
        box = select.bounding_box()
        assert box is not None
        boxes[control] = box
        clipped = select.evaluate(
            """select => {
                const probe = document.createElement("span");
                probe.style.font = getComputedStyle(select).font;
                probe.style.position = "absolute";  // its own width, not its container's
                probe.style.whiteSpace = "nowrap";
                probe.textContent = select.options[select.selectedIndex].text;
                document.body.append(probe);
                const needed = probe.getBoundingClientRect().width;
                probe.remove();
                return needed > select.clientWidth - 24;  // room for padding and the arrow
            }"""
        )
        assert not clipped, f"#{control} cuts its option short at {width} px"
    assert boxes["mode"]["y"] == boxes["k"]["y"]
    assert (boxes["lang"]["y"] == boxes["mode"]["y"]) is one_row
    assert page.evaluate("document.documentElement.scrollWidth") <= width
