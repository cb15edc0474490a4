// Demo page for POST /v1/search. Plain DOM code, no build step. All data from the API is
// written with textContent, never innerHTML, so passages cannot inject markup.
"use strict";

(function () {
  const DEFAULT_COLLECTION = "udhr";
  const DEFAULT_TOP_K = "10";
  const LANGUAGE_RETRIES = 30;
  const INDEXING_POLL_MS = 2000;
  // "Group by article": one result per value of this field, translations fetched on demand.
  const GROUP_KEY = "metadata.article";
  // The most results one search may ask for (the server's default max_top_k).
  const MAX_TOP_K = 100;
  // sessionStorage, not localStorage: the key is forgotten when the tab closes.
  const KEY_STORAGE = "polysearch.apiKey";

  const form = document.getElementById("search-form");
  const queryInput = document.getElementById("q");
  const languageSelect = document.getElementById("lang");
  const topKSelect = document.getElementById("k");
  const groupToggle = document.getElementById("group");
  const modeSelect = document.getElementById("mode");
  const statusLine = document.getElementById("status");
  const resultsSection = document.getElementById("results");
  const resultList = document.getElementById("result-list");
  const emptyState = document.getElementById("empty");
  const moreButton = document.getElementById("more");
  const modelInfo = document.getElementById("model-info");
  const reliability = document.getElementById("reliability");
  const indexingLine = document.getElementById("indexing");
  const keyForm = document.getElementById("key-form");
  const keyInput = document.getElementById("api-key");
  const keyError = document.getElementById("key-error");

  const pageParams = new URLSearchParams(window.location.search);
  const collection = pageParams.get("collection") || DEFAULT_COLLECTION;

  // Only the newest request may paint the page; older ones are aborted.
  let inFlight = null;
  // The query whose results are shown: translations of a grouped hit are ranked against it.
  let shownQuery = "";
  // The search body of the shown results: "More results" asks for its next page.
  let shownRequest = null;
  // The served model's per-language evaluation (GET /v1/languages), once loaded.
  let modelLanguages = null;
  // The API key sent as X-API-Key, when the server asked for one (a 401).
  let apiKey = readStoredKey();

  function readStoredKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || null;
    } catch (_) {
      return null; // Storage disabled: the key lives in this page only.
    }
  }

  function storeKey(key) {
    apiKey = key;
    try {
      if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (_) {
      // Storage disabled: keep the key in memory.
    }
  }

  /** Turns an API error body {"error": {"code", "message"}} into a readable line. */
  async function errorMessage(response) {
    let message = `${response.status} ${response.statusText}`.trim();
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) {
        message = body.error.message;
      } else if (body && typeof body.detail === "string") {
        message = body.detail;
      }
    } catch (_) {
      // Not JSON (e.g. a proxy error page): keep the HTTP status line.
    }
    return message;
  }

  /** Shows the key form; `problem` is the server's word on a key that was sent. */
  function askForKey(problem) {
    const wasHidden = keyForm.hidden;
    keyForm.hidden = false;
    keyError.textContent = problem ? `Error: ${problem}` : "";
    keyError.hidden = !problem;
    if (problem) keyInput.setAttribute("aria-invalid", "true");
    else keyInput.removeAttribute("aria-invalid");
    if (wasHidden || problem) {
      keyInput.focus();
      keyInput.select();
    }
  }

  function keyAccepted() {
    if (keyForm.hidden) return;
    const hadFocus = keyForm.contains(document.activeElement);
    keyForm.hidden = true;
    keyInput.value = "";
    keyInput.removeAttribute("aria-invalid");
    keyError.hidden = true;
    if (hadFocus) queryInput.focus();
  }

  /** fetch() for the API: sends the tab's key, and asks for one when the server says 401. */
  async function api(url, options = {}) {
    const sentKey = apiKey;
    const headers = new Headers(options.headers);
    headers.set("Accept", "application/json");
    if (sentKey) headers.set("X-API-Key", sentKey);
    const response = await fetch(url, { ...options, headers });
    if (sentKey !== apiKey) return response; // The key changed meanwhile: a stale answer.
    if (response.status === 401) {
      if (sentKey) storeKey(null); // A wrong or revoked key: stop sending it.
      askForKey(sentKey ? await errorMessage(response.clone()) : "");
    } else if (response.ok && sentKey) {
      keyAccepted();
    }
    return response;
  }

  function setStatus(text, kind) {
    statusLine.textContent = text;
    statusLine.dataset.kind = kind || "";
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Sets `lang` only for plain ISO 639 codes, which browsers use to pick fonts. */
  function htmlLang(code) {
    return /^[a-z]{2,3}$/.test(code || "") ? code : "";
  }

  /** "Swahili · swh"; the name alone where it already ends with its code, as some of the
   * UDHR's do ("Mbundu (009)"), and the code alone without a name. */
  function nameAndCode(name, code, joined) {
    if (!name || !code) return name || code;
    return name.endsWith(`(${code})`) ? name : joined(name, code);
  }

  function languageLabel(hit) {
    const name = hit.language_name || (hit.metadata && hit.metadata.language_name) || "";
    const label = nameAndCode(name, hit.language || "", (n, c) => `${n} · ${c}`);
    return label || "Unknown language";
  }

  /**
   * Fills `node` with `text`, its highlighted sentences in <mark> elements (best first gets
   * data-best). Offsets count Unicode code points, as the API does (Array.from, not UTF-16
   * indices). Text goes in as text nodes only: a passage cannot inject markup.
   */
  function fillHighlighted(node, text, highlights) {
    const chars = Array.from(text);
    const spans = (highlights || [])
      .map((h, rank) => ({ start: h.start, end: h.end, score: h.score, best: rank === 0 }))
      .filter((h) => Number.isInteger(h.start) && Number.isInteger(h.end) &&
        h.start >= 0 && h.start < h.end && h.end <= chars.length)
      .sort((a, b) => a.start - b.start);
    let at = 0;
    for (const span of spans) {
      if (span.start < at) continue; // overlapping spans are not expected; keep the first
      if (span.start > at) node.append(document.createTextNode(chars.slice(at, span.start).join("")));
      const mark = el("mark", "highlight", chars.slice(span.start, span.end).join(""));
      mark.title = `Best-matching sentence (score ${span.score.toFixed(3)})`;
      if (span.best) mark.dataset.best = "true";
      node.append(mark);
      at = span.end;
    }
    if (at < chars.length) node.append(document.createTextNode(chars.slice(at).join("")));
  }

  function renderResult(hit, rank) {
    const item = el("li", "result");
    item.tabIndex = 0;
    item.dataset.language = hit.language || "";
    item.dataset.id = hit.id;
    const article = hit.metadata && Number.isInteger(hit.metadata.article)
      ? hit.metadata.article : null;
    if (article !== null) item.dataset.article = String(article);

    const head = el("div", "result-head");
    head.append(el("span", "result-rank", `#${rank}`));
    if (article !== null) head.append(el("span", "result-article", `Article ${article}`));
    head.append(el("span", "result-lang", languageLabel(hit)));
    const score = el("span", "result-score", hit.score.toFixed(3));
    score.title = "Cosine similarity";
    head.append(score);

    const text = el("p", "result-text");
    fillHighlighted(text, hit.text, hit.highlights);
    text.dir = "auto";
    const lang = htmlLang(hit.language);
    if (lang) text.lang = lang;

    item.setAttribute("aria-label",
      `Result ${rank}: ${article !== null ? `Article ${article}, ` : ""}${languageLabel(hit)}, ` +
      `score ${hit.score.toFixed(3)}`);
    item.append(head, text);
    if (hit.group) item.append(...renderTranslationsControl(hit));
    return item;
  }

  /** Languages of a grouped hit's siblings: its group's languages but its own. */
  function otherLanguages(hit) {
    return hit.group.languages.filter((code) => code !== hit.language);
  }

  let translationLists = 0;

  /** A button that fetches and shows the hit's group in its other languages. */
  function renderTranslationsControl(hit) {
    const others = otherLanguages(hit);
    if (others.length === 0) {
      return [el("p", "translations-note", "No translation in this collection.")];
    }
    const list = el("ol", "translations");
    // A passage can lead two groups (a list-valued field): each of its lists has its own id.
    list.id = `translations-${++translationLists}`;
    list.hidden = true;
    const label = `Show ${others.length} translation${others.length === 1 ? "" : "s"}`;
    const button = el("button", "translations-toggle", label);
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", list.id);
    button.title = others.join(", ");
    const query = shownQuery;
    button.addEventListener("click", async () => {
      const open = button.getAttribute("aria-expanded") === "true";
      if (open) {
        list.hidden = true;
        button.setAttribute("aria-expanded", "false");
        button.textContent = label;
        return;
      }
      button.setAttribute("aria-expanded", "true");
      button.textContent = "Hide translations";
      list.hidden = false;
      if (list.dataset.loaded) return;
      list.replaceChildren(el("li", "translations-note", "Loading translations…"));
      list.setAttribute("aria-busy", "true");
      try {
        const body = await fetchTranslations(hit, query);
        const siblings = body.results.filter((r) => !(r.id === hit.id && r.chunk === hit.chunk));
        list.replaceChildren(...siblings.map(renderTranslation));
        if (hit.group.size > MAX_TOP_K) {
          list.append(el("li", "translations-note",
            `The ${MAX_TOP_K} closest of ${hit.group.size} passages are shown.`));
        }
        list.dataset.loaded = "true";
      } catch (err) {
        list.replaceChildren(el("li", "translations-note", `Error: ${err.message}`));
      } finally {
        list.removeAttribute("aria-busy");
      }
    });
    return [button, list];
  }

  /** The hit's group (same article), every language, ranked against the same query. */
  async function fetchTranslations(hit, query) {
    const response = await api("/v1/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        query,
        top_k: Math.min(hit.group.size, MAX_TOP_K),
        filter: { [hit.group.key]: hit.group.value },
        collection,
      }),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    return response.json();
  }

  function renderTranslation(hit) {
    const item = el("li", "translation");
    item.dataset.language = hit.language || "";
    const text = el("p", "result-text");
    fillHighlighted(text, hit.text, hit.highlights);
    text.dir = "auto";
    const lang = htmlLang(hit.language);
    if (lang) text.lang = lang;
    item.append(el("span", "result-lang", languageLabel(hit)), text);
    return item;
  }

  /** Shows a page of results: the first (replacing what is shown) or a further one (appended). */
  function showResults(body, roundTripMs, request) {
    const before = request.offset ? resultList.children.length : 0;
    const items = body.results.map((hit, i) => renderResult(hit, before + i + 1));
    if (before) resultList.append(...items);
    else resultList.replaceChildren(...items);
    // A full page may have a next one; a short page is the last.
    moreButton.hidden = body.results.length < request.top_k;
    emptyState.hidden = true;
    if (body.model) modelInfo.textContent = `Model: ${body.model} · collection: ${body.collection}`;
    resultsSection.dataset.mode = body.mode || "";  // how the server ranked them
    const n = resultList.children.length;
    if (n === 0) {
      setStatus("No results. Try another query or choose “All languages”.", "empty");
      return;
    }
    const noun = request.group_by ? "article" : "result"; // grouped: one per article
    setStatus(
      `${n} ${noun}${n === 1 ? "" : "s"} · search ${body.took_ms.toFixed(1)} ms on the server, ` +
      `${Math.round(roundTripMs)} ms round trip`,
      "ok",
    );
  }

  /** An error, instead of the results; a further page's error keeps the pages shown. */
  function showError(message, request) {
    if (request && request.offset) {
      setStatus(`Error: ${message}`, "error");
      return;
    }
    resultList.replaceChildren();
    moreButton.hidden = true;
    emptyState.hidden = true;
    setStatus(`Error: ${message}`, "error");
  }

  function showIdle() {
    resultList.replaceChildren();
    moreButton.hidden = true;
    emptyState.hidden = false;
    setStatus("", "");
  }

  /** Mirrors the form in the address bar so a search can be shared as a link. */
  function syncUrl(query, language, topK, push) {
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    if (language) params.set("lang", language);
    if (topK !== DEFAULT_TOP_K) params.set("k", topK);
    if (groupToggle.checked) params.set("group", "article");
    if (modeSelect.value) params.set("mode", modeSelect.value);
    if (collection !== DEFAULT_COLLECTION) params.set("collection", collection);
    const search = params.toString();
    const url = `${window.location.pathname}${search ? `?${search}` : ""}`;
    if (url === `${window.location.pathname}${window.location.search}`) return;
    if (push) window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
  }

  async function search(push) {
    const query = queryInput.value.trim();
    const language = languageSelect.value;
    const topK = topKSelect.value;
    syncUrl(query, language, topK, push);
    if (inFlight) inFlight.abort();
    if (!query) {
      showIdle();
      return;
    }
    await fetchPage({
      query,
      top_k: Number(topK),
      languages: language ? [language] : null,
      collection,
      group_by: groupToggle.checked ? GROUP_KEY : null,
      // Empty: the server's default (hybrid, or dense for an index without words).
      ...(modeSelect.value ? { mode: modeSelect.value } : {}),
    });
  }

  /** The page after the shown results, appended to them. */
  async function showMore() {
    if (!shownRequest || inFlight) return;
    await fetchPage({ ...shownRequest, offset: resultList.children.length });
  }

  async function fetchPage(request) {
    const controller = new AbortController();
    inFlight = controller;
    resultsSection.setAttribute("aria-busy", "true");
    setStatus("Searching…", "busy");
    const started = performance.now();
    try {
      const response = await api("/v1/search", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
        signal: controller.signal,
      });
      if (!response.ok) {
        showError(await errorMessage(response), request);
        return;
      }
      const body = await response.json();
      shownQuery = request.query;
      shownRequest = request;
      showResults(body, performance.now() - started, request);
    } catch (err) {
      if (err.name === "AbortError") return;
      showError(`could not reach the server (${err.message})`, request);
    } finally {
      if (inFlight === controller) {
        inFlight = null;
        resultsSection.removeAttribute("aria-busy");
      }
    }
  }

  async function loadLanguages(attempt = 0) {
    try {
      const response = await api(`/v1/collections/${encodeURIComponent(collection)}/languages`);
      if (response.status === 503 && attempt < LANGUAGE_RETRIES) {
        // The service loads its model in the background; ask again once it may be ready.
        window.setTimeout(() => loadLanguages(attempt + 1), 2000);
        return;
      }
      if (!response.ok) {
        languageSelect.title = `Languages unavailable: ${await errorMessage(response)}`;
        return;
      }
      const body = await response.json();
      const wanted = languageSelect.value;
      // Everything but "All languages": loading twice (e.g. after a key) must not duplicate.
      languageSelect.querySelectorAll("option:not([value=''])").forEach((o) => o.remove());
      const options = body.languages.map((language) => {
        const option = el("option", null,
          nameAndCode(language.name, language.code, (n, c) => `${n} (${c})`));
        option.value = language.code;
        return option;
      });
      languageSelect.append(...options);
      languageSelect.value = wanted;
      if (languageSelect.value !== wanted) languageSelect.value = "";
      languageSelect.dataset.loaded = String(options.length);
    } catch (err) {
      languageSelect.title = `Languages unavailable: ${err.message}`;
    }
  }

  /** Says how reliable search is for the chosen language, from the model's evaluation. */
  function showReliability() {
    const code = languageSelect.value;
    reliability.className = "hint reliability";
    if (!code || modelLanguages === null) {
      reliability.hidden = true;
      return;
    }
    reliability.hidden = false;
    if (!modelLanguages.evaluated) {
      reliability.textContent = "The served model has not been evaluated yet, so its reliability " +
        "for this language is unknown.";
      return;
    }
    const figures = modelLanguages.byCode.get(code);
    if (!figures || figures.accuracy === null) {
      reliability.textContent = "No evaluation figure for this language.";
      return;
    }
    const percent = Math.round(figures.accuracy * 100);
    const [level, verdict] = figures.accuracy >= 0.8 ? ["good", "reliable"]
      : figures.accuracy >= 0.5 ? ["fair", "usable, check the results"]
        : ["weak", "weak, expect misses"];
    const seen = figures.seen_in_pretraining === false
      ? " This language was not in the base model's pre-training." : "";
    reliability.textContent = `Reliability: ${verdict}. ${percent}% of held-out UDHR ` +
      `paragraphs in ${figures.name || code} find their English translation first.${seen}`;
    reliability.classList.add(`reliability-${level}`);
  }

  /**
   * The service's start-up indexing of this collection (`make run`'s demo corpus), while it
   * runs: how far it is, since searches see only what is indexed so far. Once it ends, the
   * language list is read again (it held only the languages indexed by then).
   */
  async function watchIndexing() {
    let job;
    try {
      const response = await api("/v1/indexing");
      if (response.status === 503) {  // the model is still loading: its jobs are not known yet
        window.setTimeout(watchIndexing, INDEXING_POLL_MS);
        return;
      }
      if (!response.ok) return;
      job = (await response.json()).jobs.find((each) => each.collection === collection);
    } catch (err) {
      return;
    }
    if (job && job.state === "failed") {
      indexingLine.textContent = "Indexing this collection stopped early (the service's log " +
        "says why): searches find what it had indexed.";
      indexingLine.hidden = false;
      loadLanguages();
      return;
    }
    if (!job || job.state !== "running") {
      if (!indexingLine.hidden) loadLanguages();
      indexingLine.hidden = true;
      return;
    }
    const done = job.documents_read + job.documents_rejected;
    const total = job.documents_total;
    const percent = total ? Math.floor((100 * done) / total) : 0;
    const share = total ? ` of ${total.toLocaleString("en")} (${percent}%)` : "";
    indexingLine.textContent = `Indexing this collection: ${done.toLocaleString("en")} ` +
      `documents${share} so far. Searches find only those until it ends.`;
    indexingLine.hidden = false;
    window.setTimeout(watchIndexing, INDEXING_POLL_MS);
  }

  async function loadModelLanguages(attempt = 0) {
    try {
      const response = await api("/v1/languages");
      if (response.status === 503 && attempt < LANGUAGE_RETRIES) {
        window.setTimeout(() => loadModelLanguages(attempt + 1), 2000);
        return;
      }
      if (!response.ok) return;
      const body = await response.json();
      modelLanguages = {
        evaluated: body.evaluated,
        byCode: new Map(body.languages.map((language) => [language.code, language])),
      };
      showReliability();
    } catch (err) {
      reliability.hidden = true;
    }
  }

  /** Fills the form from the address bar (page load, back/forward). */
  function readUrl() {
    const params = new URLSearchParams(window.location.search);
    queryInput.value = params.get("q") || "";
    const language = params.get("lang") || "";
    if (language && !languageSelect.querySelector(`option[value="${CSS.escape(language)}"]`)) {
      // Keep a shared language filter even before (or without) the language list.
      const option = el("option", null, language);
      option.value = language;
      option.dataset.placeholder = "true";
      languageSelect.append(option);
    }
    languageSelect.value = language;
    const topK = params.get("k") || DEFAULT_TOP_K;
    if (!topKSelect.querySelector(`option[value="${CSS.escape(topK)}"]`)) {
      const option = el("option", null, topK);
      option.value = topK;
      topKSelect.append(option);
    }
    topKSelect.value = topK;
    groupToggle.checked = params.get("group") === "article";
    const mode = params.get("mode") || "";
    modeSelect.value = modeSelect.querySelector(`option[value="${CSS.escape(mode)}"]`) ? mode : "";
  }

  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    // fetch() cannot send other characters in a header.
    const problem = !key ? "Enter an API key."
      : /^[\x20-\x7e]+$/.test(key) ? "" : "An API key is made of printable ASCII characters.";
    if (problem) {
      keyError.textContent = problem;
      keyError.hidden = false;
      keyInput.setAttribute("aria-invalid", "true");
      return;
    }
    storeKey(key);
    keyError.hidden = true;
    // Try again everything the missing key stopped.
    loadLanguages();
    loadModelLanguages();
    if (queryInput.value.trim()) search(false);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(true);
  });
  languageSelect.addEventListener("change", () => {
    showReliability();
    if (queryInput.value.trim()) search(true);
  });
  topKSelect.addEventListener("change", () => {
    if (queryInput.value.trim()) search(true);
  });
  groupToggle.addEventListener("change", () => {
    if (queryInput.value.trim()) search(true);
  });
  modeSelect.addEventListener("change", () => {
    if (queryInput.value.trim()) search(true);
  });
  moreButton.addEventListener("click", showMore);
  document.getElementById("examples").addEventListener("click", (event) => {
    const chip = event.target.closest("button[data-query]");
    if (!chip) return;
    queryInput.value = chip.dataset.query;
    search(true);
  });
  window.addEventListener("popstate", () => {
    readUrl();
    showReliability();
    search(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    if (typing) return;
    event.preventDefault();
    queryInput.focus();
    queryInput.select();
  });

  readUrl();
  if (queryInput.value) search(false);
  else showIdle();
  loadLanguages();
  loadModelLanguages();
  watchIndexing();
}());
