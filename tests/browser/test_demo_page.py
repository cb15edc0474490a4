"""The demo page in a real headless Chromium against the real service (model + UDHR index)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser

SWAHILI_ARTICLE_18 = "Kila mtu ana haki ya uhuru wa mawazo, dhamiri na dini"
SCREENSHOT = "/tmp/demo_page.png"
# The first query also warms the model up; later ones take milliseconds.
SEARCH_TIMEOUT_MS = 60_000
# Article 18 must show up in several languages among this many results. With the base
# multilingual-e5-small, Article 3 ("right to life, liberty") crowds the top 10.
TOP_K = 20


def search_from_box(page: Page, query: str) -> None:
    box = page.locator("#q")
    box.fill(query)
    box.press("Enter")
    wait_for_results(page)


def wait_for_results(page: Page) -> None:
    expect(page.locator("#status")).to_have_attribute("data-kind", "ok", timeout=SEARCH_TIMEOUT_MS)


def result_attributes(page: Page, name: str) -> list[str]:
    values: list[str] = page.locator("#result-list > li").evaluate_all(
        f"items => items.map(item => item.dataset.{name} ?? '')"
    )
    return values


def wait_for_language_list(page: Page) -> None:
    expect(page.locator("#lang")).to_have_attribute("data-loaded", re.compile(r"^[1-9]\d*$"))


def test_swahili_query_finds_article_18_in_many_languages(page: Page, live_server_url: str) -> None:
    page.goto(live_server_url)
    expect(page.locator("#q")).to_be_focused()  # autofocus: the user can type at once
    page.locator("#k").select_option(str(TOP_K))

    search_from_box(page, SWAHILI_ARTICLE_18)

    articles = result_attributes(page, "article")
    languages = result_attributes(page, "language")
    assert len(articles) == TOP_K
    assert articles[0] == "18", f"first result is article {articles[0]}, not 18"
    article_18_languages = {
        lang for art, lang in zip(articles, languages, strict=True) if art == "18"
    }
    assert len(article_18_languages) >= 3, f"article 18 only in {article_18_languages}"

    first = page.locator("#result-list > li").first
    expect(first.locator(".result-article")).to_have_text("Article 18")
    expect(first.locator(".result-score")).to_have_text(re.compile(r"^-?\d\.\d{3}$"))
    expect(first.locator(".result-lang")).not_to_be_empty()
    expect(first.locator(".result-text")).to_have_attribute("dir", "auto")
    expect(page.locator("#status")).to_have_text(
        re.compile(r"search \d+\.\d ms on the server, \d+ ms round trip")
    )
    shared = parse_qs(urlparse(page.url).query)  # the link reproduces the search
    assert shared["q"] == [SWAHILI_ARTICLE_18]
    assert shared["k"] == [str(TOP_K)]

    page.screenshot(path=SCREENSHOT, full_page=True)


def test_more_results_appends_the_next_page(page: Page, live_server_url: str) -> None:
    """ "More results" shows the next page after the shown one: the same as one longer search."""
    query = {"query": SWAHILI_ARTICLE_18, "top_k": 10, "languages": ["swh", "fra"]}
    longer = page.request.post(f"{live_server_url}/v1/search", data={**query, "top_k": 20})
    expected = [str(r["id"]) for r in longer.json()["results"]]

    page.goto(live_server_url)
    wait_for_language_list(page)
    page.locator("#k").select_option("10")
    page.locator("#q").fill(SWAHILI_ARTICLE_18)
    page.route(  # the page's own search, restricted to two languages as `query` is
        "**/v1/search",
        lambda route: route.continue_(
            post_data={**(route.request.post_data_json or {}), "languages": ["swh", "fra"]}
        ),
    )
    page.locator("#q").press("Enter")
    wait_for_results(page)
    more = page.locator("#more")
    expect(more).to_be_visible()

    more.click()
    expect(page.locator("#result-list > li")).to_have_count(20, timeout=SEARCH_TIMEOUT_MS)
    wait_for_results(page)
    assert result_attributes(page, "id") == expected
    expect(page.locator("#status")).to_contain_text("20 results")
    ranks = page.locator("#result-list > li .result-rank").all_inner_texts()
    assert ranks[9:11] == ["#10", "#11"]  # numbering goes on where the first page stopped


def test_a_failed_further_page_keeps_the_results_shown(page: Page, live_server_url: str) -> None:
    page.goto(f"{live_server_url}/?q={SWAHILI_ARTICLE_18}&k=5")
    wait_for_results(page)
    shown = result_attributes(page, "id")
    assert len(shown) == 5

    def busy(route: Route) -> None:
        body = {"error": {"code": "overloaded", "message": "the service is busy, try again"}}
        route.fulfill(status=503, json=body)

    page.route("**/v1/search", busy)
    page.locator("#more").click()
    expect(page.locator("#status")).to_have_attribute("data-kind", "error")
    expect(page.locator("#status")).to_contain_text("the service is busy")
    assert result_attributes(page, "id") == shown
    expect(page.locator("#more")).to_be_visible()  # the user may try again


def test_keyboard_reaches_search_box_and_results(page: Page, live_server_url: str) -> None:
    page.goto(f"{live_server_url}/?q={SWAHILI_ARTICLE_18}")
    wait_for_results(page)  # a shared link searches on load

    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()

    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#result-list > li')"):
            break
    expect(page.locator("#result-list > li").first).to_be_focused()


def test_language_filter_returns_only_that_language(page: Page, live_server_url: str) -> None:
    page.goto(live_server_url)
    wait_for_language_list(page)
    swahili = page.locator("#lang option", has_text="Swahili").first
    code = swahili.get_attribute("value")
    assert code, "no Swahili in the language list"

    page.locator("#q").fill(SWAHILI_ARTICLE_18)
    page.locator("#lang").select_option(code)  # changing the filter searches again
    wait_for_results(page)

    languages = result_attributes(page, "language")
    assert languages, "no results in the chosen language"
    assert set(languages) == {code}
    assert result_attributes(page, "article")[0] == "18"
    assert parse_qs(urlparse(page.url).query)["lang"] == [code]


def test_api_error_message_is_shown(page: Page, live_server_url: str) -> None:
    missing = "no-such-collection"
    api = page.request.post(
        f"{live_server_url}/v1/search", data={"query": "freedom", "collection": missing}
    )
    assert api.status == 404
    message = api.json()["error"]["message"]

    page.goto(f"{live_server_url}/?q=freedom&collection={missing}")

    status = page.locator("#status")
    expect(status).to_have_attribute("data-kind", "error", timeout=SEARCH_TIMEOUT_MS)
    expect(status).to_contain_text(message)
    expect(page.locator("#result-list > li")).to_have_count(0)


def test_passages_are_shown_as_text_never_markup(page: Page, live_server_url: str) -> None:
    """A real response with hostile and right-to-left text swapped in: the page must escape it."""
    hostile = '<img src="x" onerror="window.injected = true">'
    arabic = "لكل شخص الحق في حرية التفكير والضمير والدين"

    def tamper(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["results"][0]["text"] = hostile
        body["results"][1]["text"] = arabic
        route.fulfill(response=response, json=body)

    page.route("**/v1/search", tamper)
    page.goto(live_server_url)
    search_from_box(page, "freedom of thought")

    texts = page.locator("#result-list .result-text")
    expect(texts.nth(0)).to_have_text(hostile)
    expect(page.locator("#result-list img")).to_have_count(0)
    assert page.evaluate("window.injected") is None
    assert texts.nth(1).evaluate("el => el.matches(':dir(rtl)')")


def test_a_language_name_that_ends_with_its_code_is_not_followed_by_it_again(
    page: Page, live_server_url: str
) -> None:
    """Some UDHR translations' names end with their code ("Mbundu (009)"): the list and the
    results showed "Mbundu (009) (009)" and "Mbundu (009) · 009"."""
    languages = [
        {"code": "009", "name": "Mbundu (009)", "passages": 30},
        {"code": "swh", "name": "Swahili", "passages": 30},
        {"code": "007", "name": None, "passages": 30},
    ]
    page.route(
        "**/v1/collections/*/languages",
        lambda route: route.fulfill(json={"collection": "udhr", "languages": languages}),
    )

    def as_mbundu(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        for hit, (code, name) in zip(
            body["results"], [("009", "Mbundu (009)"), ("swh", "Swahili")], strict=False
        ):
            hit["language"], hit["language_name"] = code, name
        route.fulfill(response=response, json=body)

    page.route("**/v1/search", as_mbundu)
    page.goto(live_server_url)
    wait_for_language_list(page)
    options = page.locator("#lang option").all_inner_texts()
    assert options[1:] == ["Mbundu (009)", "Swahili (swh)", "007"]
    search_from_box(page, "freedom of thought")
    labels = page.locator("#result-list .result-lang").all_inner_texts()
    assert labels[:2] == ["Mbundu (009)", "Swahili · swh"]


def test_reliability_hint_follows_the_chosen_language(page: Page, live_server_url: str) -> None:
    """The model's per-language evaluation (a real response, with figures swapped in) is shown
    for the language chosen in the filter."""

    def with_figures(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["evaluated"] = True
        body["languages"] = [
            {"code": "swh", "name": "Swahili", "accuracy": 0.91, "seen_in_pretraining": True},
            {"code": "yor", "name": "Yoruba", "accuracy": 0.42, "seen_in_pretraining": False},
        ]
        route.fulfill(response=response, json=body)

    page.route("**/v1/languages", with_figures)
    page.goto(live_server_url)
    wait_for_language_list(page)
    hint = page.locator("#reliability")
    expect(hint).to_be_hidden()

    page.locator("#lang").select_option("swh")
    expect(hint).to_contain_text("91% of held-out UDHR paragraphs in Swahili")
    expect(hint).to_have_class(re.compile("reliability-good"))

    page.locator("#lang").select_option("yor")
    expect(hint).to_contain_text("weak")
    expect(hint).to_contain_text("not in the base model's pre-training")

    page.locator("#lang").select_option("eng")
    expect(hint).to_have_text("No evaluation figure for this language.")


def test_unevaluated_model_says_so(page: Page, live_server_url: str) -> None:
    """A model whose card carries no evaluation (a real response, emptied as the service sends
    it for such a card): the page says so instead of showing no hint."""

    def without_figures(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["evaluated"] = False
        body["languages"] = []
        route.fulfill(response=response, json=body)

    page.route("**/v1/languages", without_figures)
    page.goto(f"{live_server_url}/?lang=swh")
    expect(page.locator("#reliability")).to_contain_text("has not been evaluated yet")


def test_the_start_up_indexing_shows_its_progress_until_it_ends(
    page: Page, live_server_url: str
) -> None:
    """`make run` serves while it indexes the demo corpus: the page says how far it is (the
    service's own progress, `GET /v1/indexing`, played here), then reads the languages again."""
    answers = [("running", 6000, 1), ("running", 15000, 3), ("done", 15803, 0)]
    language_lists: list[str] = []

    def indexing(route: Route) -> None:
        state, read, rejected = answers.pop(0) if len(answers) > 1 else answers[0]
        job = {"collection": "udhr", "state": state, "documents_total": 15804,
               "documents_read": read, "documents_indexed": read, "documents_unchanged": 0,
               "documents_rejected": rejected, "seconds": 1.0}  # fmt: skip
        route.fulfill(json={"jobs": [job]})

    page.route("**/v1/indexing", indexing)
    page.on("request", lambda r: language_lists.append(r.url) if "/languages" in r.url else None)
    page.goto(live_server_url)
    line = page.locator("#indexing")
    expect(line).to_have_text(
        "Indexing this collection: 6,001 documents of 15,804 (37%) so far. "
        "Searches find only those until it ends."
    )
    expect(line).to_contain_text("15,003 documents of 15,804 (94%)", timeout=5000)
    expect(line).to_be_hidden(timeout=5000)
    for _ in range(50):  # the second reading of the collection's languages, once it ended
        if len([url for url in language_lists if "/v1/collections/" in url]) == 2:
            break
        page.wait_for_timeout(100)
    assert len([url for url in language_lists if "/v1/collections/" in url]) == 2


def test_a_start_up_indexing_that_failed_says_so(page: Page, live_server_url: str) -> None:
    job = {"collection": "udhr", "state": "failed", "documents_total": 15803,
           "documents_read": 512, "documents_indexed": 512, "documents_unchanged": 0,
           "documents_rejected": 0, "seconds": 3.0}  # fmt: skip
    page.route("**/v1/indexing", lambda route: route.fulfill(json={"jobs": [job]}))
    page.goto(live_server_url)
    expect(page.locator("#indexing")).to_contain_text("stopped early")
