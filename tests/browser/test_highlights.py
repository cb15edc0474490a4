"""The demo page marks each result's highlighted sentences, as text, in a real Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.browser.test_demo_page import search_from_box


def test_each_result_marks_its_best_sentence(page: Page, live_server_url: str) -> None:
    shown: list[dict[str, object]] = []

    def keep(route: Route) -> None:
        response = route.fetch()
        shown.append(response.json())
        route.fulfill(response=response)

    page.route("**/v1/search", keep)
    page.goto(live_server_url)
    search_from_box(page, "No one may be compelled to belong to an association")
    results = shown[-1]["results"]
    assert isinstance(results, list) and results
    items = page.locator("#result-list > li")
    expect(items).to_have_count(len(results))
    for index, hit in enumerate(results):
        best = hit["highlights"][0]
        text = hit["text"]
        mark = items.nth(index).locator("mark.highlight[data-best]")
        expect(mark).to_have_count(1)
        expect(mark).to_have_text(text[best["start"] : best["end"]])
        # The paragraph still reads as the whole passage.
        expect(items.nth(index).locator(".result-text")).to_have_text(text)


def test_highlights_are_text_never_markup_and_count_code_points(
    page: Page, live_server_url: str
) -> None:
    hostile = '<img src="x" onerror="window.injected = true"> is not markup.'
    # Outside the BMP: one code point, two UTF-16 units; the API counts code points.
    wide = "\U0001f30d\U0001f30e\U0001f30f first sentence. The second sentence is marked."

    def tamper(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["results"][0]["text"] = hostile
        body["results"][0]["highlights"] = [{"start": 0, "end": len(hostile), "score": 0.5}]
        body["results"][1]["text"] = wide
        start = wide.index("The")
        body["results"][1]["highlights"] = [{"start": start, "end": len(wide), "score": 0.5}]
        route.fulfill(response=response, json=body)

    page.route("**/v1/search", tamper)
    page.goto(live_server_url)
    search_from_box(page, "freedom of thought")
    marks = page.locator("#result-list .result-text mark")
    expect(marks.nth(0)).to_have_text(hostile)
    expect(page.locator("#result-list img")).to_have_count(0)
    assert page.evaluate("window.injected") is None
    expect(marks.nth(1)).to_have_text("The second sentence is marked.")
