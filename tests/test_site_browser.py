"""The built site used in a browser: Playwright (Python) driving headless Chromium.

``_build/html`` (built by ``make test`` before pytest starts) is served on 127.0.0.1 and every
page of ``_toc.yml`` is loaded the way a reader's browser loads it; requests that leave the
site are refused and reported (the site must work offline). On every page: MathJax's own
startup promise resolves, then every formula is typeset, none in error, no raw TeX left;
every request succeeds and no script raises; every image loads; axe-core finds no violation
of impact serious or critical (the others are listed in the summary); notebook pages have the
Colab link and the ``.ipynb`` download in the live DOM, the download serves the notebook
file, and their set-up cell opens when its toggle is clicked; at a 390-px-wide viewport
nothing overflows horizontally except code blocks (a cell's code and its printed output, which
scroll sideways in their own box): no element sticks out, no other box scrolls sideways. Then the interactions: the search box
finds the right sections; the theme switcher turns the site dark with readable text, code,
math and plots (contrast measured); next/previous links walk the whole book in ``_toc.yml``
order. Screenshots (light, dark, narrow) go to ``_build/screenshots/``.

The browser is Debian's Chromium (or $CHROMIUM), found at run time: ``playwright install``
is not needed. Outside CI a missing build or browser skips these tests; with CI=true they fail.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import site_helpers as sh
from playwright.sync_api import sync_playwright

PAGES = sh.toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if p.notebook]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")
RAW_TEX = ("$$", "\\[", "\\]", "\\(", "\\)", "\\begin{")
MIN_CONTRAST = 4.5  # WCAG AA for body text

# (query, sections that must be among the results)
SEARCHES = [
    ("cross-entropy", {"4.1", "4.4"}),
    ("broadcasting", {"2.1"}),
    ("backpropagation", {"5.3"}),
]


# Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Path:
    return sh.require_site()


@pytest.fixture(scope="module")
def base_url(site):
    with sh.serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser(site, site_stats):
    executable = sh.chromium_executable()
    if executable is None:
        sh.unavailable(
            "Chromium not found: `apt-get install chromium` (or set $CHROMIUM to a "
            "Chromium or Chrome binary)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        site_stats["browser"] = {
            "chromium": f"Chromium {browser.version}",
            "playwright": _playwright_version(),
            "pages": 0,
        }
        yield browser
        browser.close()


def _playwright_version() -> str:
    from importlib.metadata import version

    return version("playwright")


class Visit:
    """A browser context on the served site that records what went wrong while loading."""

    def __init__(self, browser, base_url: str, **options):
        self.base = base_url
        self.context = browser.new_context(
            viewport=options.pop("viewport", WIDE),
            color_scheme=options.pop("color_scheme", "light"),
            accept_downloads=True,
            **options,
        )
        self.context.set_default_timeout(30_000)
        self.external: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", self._console)
        self.page.on("requestfailed", self._request_failed)
        self.page.on("response", self._response)

    def _console(self, message):
        if message.type == "error" and not any(
            message.text.startswith(known) for known in CONSOLE_NOISE
        ):
            self.errors.append(message.text)

    def _route(self, route):
        url = route.request.url
        if url.startswith((self.base, "data:", "blob:", "about:")):
            self.requests.append(url)
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _request_failed(self, request):
        # ERR_ABORTED: a load cut short by the next navigation (a missing file is a 404,
        # recorded by _response).
        if request.url.startswith(self.base) and "ERR_ABORTED" not in str(
            request.failure
        ):
            self.failed.append(f"{request.url}: {request.failure}")

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")

    def url(self, page: sh.Page) -> str:
        return self.base + page.url_path

    def docname(self) -> str:
        path = urlsplit(self.page.url).path.lstrip("/")
        return re.sub(r"\.html$", "", path)

    def goto(self, page: sh.Page) -> dict:
        self.page.goto(self.url(page), wait_until="load")
        return self.typeset()

    def typeset(self) -> dict:
        return self.page.evaluate(WAIT_FOR_MATHJAX)

    def close(self):
        self.context.close()


# Console errors that are no fault of the site, each with its reason.
CONSOLE_NOISE = (
    # Chromium's line for an HTTP error: the response handler records those with the URL
    # (and axe-core's own stylesheet fetches cause some, see `audit`).
    "Failed to load resource",
    # pydata-sphinx-theme on a first visit (nothing in localStorage yet, and
    # sphinx-book-theme offers no default_mode option): it then starts in "auto", as meant.
    "Got invalid theme mode",
)

WAIT_FOR_MATHJAX = """async () => {
  if (!window.MathJax || !MathJax.startup) return {loaded: false};
  await MathJax.startup.promise;
  return {loaded: true, version: MathJax.version};
}"""

MATH_REPORT = """(rawTex) => {
  const nodes = [...document.querySelectorAll('.math')];
  const untypeset = nodes.filter(n => !n.querySelector('mjx-container'));
  const errors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
    .map(e => e.getAttribute('data-mjx-error') || e.textContent);
  const skip = 'script, style, pre, code, textarea, noscript, svg, math, mjx-container';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let text = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement.closest(skip)) text += n.textContent;
  }
  const raw = rawTex.filter(t => text.includes(t)).map(t => {
    const i = text.indexOf(t);
    return text.slice(Math.max(0, i - 60), i + 60);
  });
  return {
    nodes: nodes.length,
    containers: document.querySelectorAll('mjx-container').length,
    untypeset: untypeset.map(n => n.textContent.slice(0, 100)),
    errors, raw,
  };
}"""

IMAGES = """() => [...document.images].filter(i => i.offsetParent !== null || i.closest('article'))
  .map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt'),
              loaded: i.complete && i.naturalWidth > 0}))"""

# Elements wider than the viewport that no clipping or scrolling ancestor holds, and
# scrolling boxes whose content is wider than they are (what a reader scrolls sideways).
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  // Code blocks: a cell's code and its printed output (a wide table of data, say).
  const code = 'pre, div.highlight, .highlight, div.cell_input, div.cell_output';
  // What a reader must see whole: formulas, figures, tables, navigation links.
  const content = 'mjx-container, img, svg, table, figure, a, .prev-next-info';
  const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const visible = e => {
    for (let a = e; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.display === 'none' || s.visibility === 'hidden') return false;
    }
    return true;
  };
  const clippedBy = e => {
    for (let a = e.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)) return a;
    }
    return null;
  };
  const sticking = [], cut = [], scrolling = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || !visible(e)) continue;
    const box = clippedBy(e);
    const where = describe(e) + ' ' + Math.round(r.left) + '..' + Math.round(r.right);
    if (!box || box === document.body) {
      if (r.right > vw + 1 || r.left < -1) sticking.push(where);
    } else if (e.matches(content) && ['hidden', 'clip'].includes(getComputedStyle(box).overflowX)) {
      // Content cut off by a box that does not scroll: part of it cannot be seen at all.
      const b = box.getBoundingClientRect();
      // (MathJax's MathML copy for screen readers is clipped on purpose.)
      const hidden = e.closest('mjx-assistive-mml, .visually-hidden, .sr-only');
      if ((r.right > b.right + 1 || r.left < b.left - 1) && !e.closest(code) && !hidden) {
        cut.push(where + ' in ' + describe(box));
      }
    }
    const s = getComputedStyle(e);
    if (['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0 && e !== document.body && e.tagName !== 'HTML') {
      if (!e.matches(code) && !e.closest(code)) scrolling.push(describe(e) + ' ' + e.scrollWidth + '>' + e.clientWidth);
    }
  }
  return {viewport: vw, documentWidth: document.documentElement.scrollWidth,
          scales: [...document.querySelectorAll('mjx-math')]
            .map(m => parseFloat(m.style.fontSize)).filter(s => s > 0),
          sticking: sticking.slice(0, 10), cut: cut.slice(0, 10),
          scrolling: scrolling.slice(0, 10)};
}"""


def _screenshot_pages() -> list[sh.Page]:
    """Home page, the page with most formulas in each chapter, and the first page with a plot."""
    chosen = [PAGES[0]]
    best: dict[str, tuple[int, sh.Page]] = {}
    for page in PAGES:
        if not page.number or not page.html.exists():
            continue
        text = page.html.read_text(encoding="utf-8")
        weight = text.count('class="math')
        chapter = page.number.split(".")[0]
        if chapter not in best or weight > best[chapter][0]:
            best[chapter] = (weight, page)
    chosen += [page for _, page in best.values() if page not in chosen]
    return chosen


def _plot_page() -> sh.Page | None:
    for page in PAGES:
        if page.html.exists() and "cell_output" in (text := page.html.read_text()):
            if re.search(
                r'<div class="cell_output[^"]*">(?:(?!</div>).)*?<img', text, re.S
            ):
                return page
    return None


def _save(shot, name: str, site_stats) -> None:
    path = sh.SCREENSHOTS / name
    shot(path=str(path))
    site_stats.setdefault("screenshots", []).append(str(path.relative_to(sh.ROOT)))


# One pass over every page ------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit(browser, base_url, site_stats) -> dict[str, dict]:
    """Load every page once (light mode, 1280 px, then 390 px) and record what it shows."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    sh.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in sh.SCREENSHOTS.glob("*.png"):
        old.unlink()
    shots = set(_screenshot_pages())
    plot_page = _plot_page()
    results: dict[str, dict] = {}
    visit = Visit(browser, base_url)
    try:
        for page in PAGES:
            if not page.html.exists():
                continue
            visit.errors.clear(), visit.failed.clear(), visit.external.clear()
            start = len(visit.requests)
            result: dict = {"mathjax": visit.goto(page)}
            p = visit.page
            result["math"] = p.evaluate(MATH_REPORT, list(RAW_TEX))
            result["images"] = p.evaluate(IMAGES)
            # What the page itself requested and raised, before axe-core adds its own
            # requests (it fetches the stylesheets again, resolving @import against the
            # page instead of the stylesheet: a 404 of the audit, not of the site).
            result["requests"] = visit.requests[start:]
            result["failed"] = list(visit.failed)
            result["external"] = list(visit.external)
            result["errors"] = list(visit.errors)
            result["axe"] = axe.run(p).response
            if page.notebook:
                result["colab"] = p.eval_on_selector_all(
                    "a[href*='colab.research.google.com']",
                    "links => links.map(a => a.href)",
                )
                result["downloads"] = p.eval_on_selector_all(
                    "a.btn-download-source-button", "links => links.map(a => a.href)"
                )
            if page in shots:
                p.evaluate("window.scrollTo(0, 0)")
                _save(p.screenshot, f"{page.slug}-light.png", site_stats)
            if page == plot_page:
                p.locator(
                    "div.cell_output img:visible"
                )  # not those in closed solutions.first.scroll_into_view_if_needed()
                _save(p.screenshot, f"{page.slug}-plot-light.png", site_stats)
            p.set_viewport_size(NARROW)
            settle(p)
            result["narrow"] = p.evaluate(OVERFLOW)
            if page in shots:
                _save(p.screenshot, f"{page.slug}-narrow.png", site_stats)
            p.set_viewport_size(WIDE)
            settle(p)
            if page.notebook:
                result["toggle"] = _open_setup_cell(p)
            results[page.docname] = result
    finally:
        visit.close()
    site_stats["browser"]["pages"] += len(results)
    _record_axe(site_stats, [r["axe"] for r in results.values()], "light")
    return results


def settle(p) -> None:
    """Scroll to the top and wait until the theme's CSS transitions (sidebars) are over."""
    p.evaluate("window.scrollTo(0, 0)")
    p.wait_for_function(
        "document.getAnimations().filter(a => a.playState === 'running').length === 0"
    )
    # _static/fit_math.js scales wide equations to the new width, then says so.
    p.wait_for_function(
        "document.documentElement.dataset.mathFitted === String(window.innerWidth)"
    )


def _open_setup_cell(p) -> dict:
    """Is the set-up cell's code hidden at first, and shown after a click on its toggle?"""
    cell = p.locator("div.cell").first
    code = cell.locator("div.cell_input pre")
    state = {"hidden_at_first": not code.is_visible()}
    cell.locator("details.hide > summary").click()
    state["shown_after_click"] = code.is_visible()
    state["text"] = code.inner_text() if state["shown_after_click"] else ""
    return state


def _record_axe(site_stats, responses: list[dict], mode: str) -> None:
    stats = site_stats.setdefault("axe", {"pages": 0, "impact": {}, "modes": []})
    stats["pages"] += len(responses)
    if mode not in stats["modes"]:
        stats["modes"].append(mode)
    for response in responses:
        stats["version"] = response.get("testEngine", {}).get("version", "?")
        for violation in response["violations"]:
            rules = stats["impact"].setdefault(violation["impact"] or "unknown", {})
            key = f"{violation['id']}[{mode}]"
            rules[key] = rules.get(key, 0) + len(violation["nodes"])


def _result(audit, page: sh.Page) -> dict:
    if page.docname not in audit:
        pytest.fail(f"{page.docname} was not built (see _toc.yml)")
    return audit[page.docname]


def _blocking(response: dict) -> list[str]:
    found = []
    for v in response["violations"]:
        if v["impact"] in BLOCKING:
            targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
            found.append(
                f"{v['impact']} {v['id']} ({v['help']}): {len(v['nodes'])} x, e.g. {targets}"
            )
    return found


# Every page --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_every_formula_is_typeset(page, audit, site_stats):
    result = _result(audit, page)
    math = result["math"]
    if math["nodes"]:
        assert result["mathjax"]["loaded"], f"{page.docname}: math but no MathJax"
    assert not math["untypeset"], (
        f"{page.docname}: {len(math['untypeset'])} of {math['nodes']} formulas not "
        f"typeset, first: {math['untypeset'][0]!r}"
    )
    assert math["containers"] >= math["nodes"]
    assert not math["errors"], f"{page.docname}: MathJax errors: {math['errors']}"
    assert not math["raw"], f"{page.docname}: raw TeX left in the text: {math['raw']}"
    site_stats.setdefault("math", {})[page.docname] = [
        math["nodes"],
        math["containers"],
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_page_loads_offline_without_errors(page, audit):
    result = _result(audit, page)
    assert not result["external"], (
        f"{page.docname}: requests leaving the site: {result['external'][:5]}"
    )
    assert not result["failed"], f"{page.docname}: failed requests: {result['failed']}"
    assert not result["errors"], f"{page.docname}: script errors: {result['errors']}"
    if result["math"]["nodes"]:
        fonts = [u for u in result["requests"] if ".woff" in u]
        assert fonts, f"{page.docname}: MathJax loaded no font from the site"
    broken = [i["src"] for i in result["images"] if not i["loaded"]]
    assert not broken, f"{page.docname}: images that did not load: {broken}"
    nameless = [i["src"] for i in result["images"] if not (i["alt"] or "").strip()]
    assert not nameless, f"{page.docname}: images without alt text: {nameless}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_axe_finds_no_serious_or_critical_violation(page, audit):
    found = _blocking(_result(audit, page)["axe"])
    assert not found, f"{page.docname}: axe-core found:\n" + "\n".join(found)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_nothing_overflows_at_390_px_except_code(page, audit, site_stats):
    narrow = _result(audit, page)["narrow"]
    assert narrow["documentWidth"] <= narrow["viewport"], (
        f"{page.docname}: the page scrolls sideways at {narrow['viewport']} px "
        f"(document {narrow['documentWidth']} px wide): {narrow['sticking']}"
    )
    assert not narrow["sticking"], (
        f"{page.docname}: elements stick out of the viewport: {narrow['sticking']}"
    )
    assert not narrow["cut"], (
        f"{page.docname}: elements cut off by their box: {narrow['cut']}"
    )
    assert not narrow["scrolling"], (
        f"{page.docname}: boxes other than code blocks scroll sideways: {narrow['scrolling']}"
    )
    site_stats["narrow"] = site_stats.get("narrow", 0) + 1
    if narrow["scales"]:  # formulas _static/fit_math.js scaled down to fit
        scaled = site_stats.setdefault("scaled", {})
        scaled[page.docname] = [len(narrow["scales"]), min(narrow["scales"])]


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: p.docname)
def test_notebook_page_has_colab_link_and_notebook_download(
    page, audit, browser, base_url, site_stats
):
    result = _result(audit, page)
    assert result["colab"] == [sh.colab_url(page)], (
        f"{page.docname}: Colab links {result['colab']}, expected {sh.colab_url(page)}"
    )
    assert len(result["downloads"]) == 1, f"{page.docname}: {result['downloads']}"
    href = result["downloads"][0]
    assert href.endswith(f"_sources/{page.docname}.ipynb"), href
    context = browser.new_context()
    try:
        response = context.request.get(href)
        assert response.ok, f"{page.docname}: {href} answers {response.status}"
        assert "html" not in response.headers.get("content-type", ""), href
        served = json.loads(response.body())
    finally:
        context.close()
    stored = json.loads(page.source.read_text(encoding="utf-8"))
    assert served["nbformat"] == stored["nbformat"] == 4
    assert [c["source"] for c in served["cells"]] == [
        c["source"] for c in stored["cells"]
    ], f"{page.docname}: the download is not the notebook in {page.source.name}"
    toggle = result["toggle"]
    assert toggle["hidden_at_first"], f"{page.docname}: set-up cell shown open"
    assert toggle["shown_after_click"], (
        f"{page.docname}: clicking the set-up cell's toggle does not show its code"
    )
    assert "Colab set-up" in toggle["text"], (
        f"{page.docname}: clicking the set-up cell's toggle does not show its code"
    )
    site_stats["buttons"] = site_stats.get("buttons", 0) + 1
    site_stats["toggles"] = site_stats.get("toggles", 0) + 1


def test_launch_and_download_menus_open_on_click(browser, base_url):
    """The buttons as a reader uses them: open the menus, follow the download."""
    page = NOTEBOOK_PAGES[0]
    visit = Visit(browser, base_url)
    try:
        visit.goto(page)
        p = visit.page
        colab = p.locator(".dropdown-launch-buttons a[href*='colab']")
        assert not colab.is_visible(), "the launch menu is open before a click"
        p.locator(".dropdown-launch-buttons button.dropdown-toggle").click()
        colab.wait_for(state="visible")
        assert colab.get_attribute("href") == sh.colab_url(page)
        assert "colab" in colab.inner_text().lower()
        p.keyboard.press("Escape")
        p.locator(".dropdown-download-buttons button.dropdown-toggle").click()
        download = p.locator("a.btn-download-source-button")
        download.wait_for(state="visible")
        assert ".ipynb" in download.inner_text()
        with visit.context.expect_event(
            "response", predicate=lambda r: r.url.endswith(".ipynb")
        ) as served:
            download.click()
        response = served.value
        assert response.ok, f"{response.url}: HTTP {response.status}"
        assert "html" not in response.headers.get("content-type", "")
        notebook = json.loads(response.body())
        stored = json.loads(page.source.read_text(encoding="utf-8"))
        assert notebook["cells"] == stored["cells"], "the download is not the notebook"
    finally:
        visit.close()


# Interactions --------------------------------------------------------------------------------


def _search(visit: Visit, query: str) -> tuple[str, list[str]]:
    p = visit.page
    visit.goto(PAGES[0])
    p.locator("button.search-button__button:visible").first.click()
    box = p.locator("#pst-search-dialog input[name='q']")
    box.wait_for(state="visible")
    box.fill("")
    box.type(query)
    with p.expect_navigation():
        box.press("Enter")
    summary = p.locator("#search-results p.search-summary")
    summary.wait_for(state="visible")
    hrefs = p.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.href)"
    )
    found = []
    for href in hrefs:
        docname = re.sub(r"\.html$", "", urlsplit(href).path.lstrip("/"))
        if docname not in found:
            found.append(docname)
    return summary.inner_text(), found


def test_search_box_finds_the_right_sections(browser, base_url, site_stats):
    by_number = {p.number: p.docname for p in PAGES if p.number}
    visit = Visit(browser, base_url)
    try:
        for query, sections in SEARCHES:
            summary, found = _search(visit, query)
            assert "search.html" in visit.page.url
            assert "q=" in visit.page.url
            missing = [s for s in sorted(sections) if by_number[s] not in found]
            assert not missing, (
                f"search {query!r} did not find sections {missing}: {summary!r}, {found}"
            )
        summary, found = _search(visit, "zyzzyvaquux")
        assert not found, (summary, found)
        assert "did not match" in summary, (summary, found)
        assert not visit.errors, (visit.errors, visit.external)
        assert not visit.external, (visit.errors, visit.external)
    finally:
        visit.close()
    site_stats["search"] = len(SEARCHES) + 1


CONTRASTS = """(selectors) => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const background = e => {
    for (let a = e; a; a = a.parentElement) {
      const c = parse(getComputedStyle(a).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) return c.slice(0, 3);
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
  };
  const out = {};
  for (const [name, selector] of Object.entries(selectors)) {
    out[name] = [...document.querySelectorAll(selector)]
      .filter(e => e.getClientRects().length && e.textContent.trim() &&
                   getComputedStyle(e).visibility === 'visible' &&
                   getComputedStyle(e).opacity !== '0')
      .slice(0, 200)
      .map(e => ({fg: parse(getComputedStyle(e).color).slice(0, 3), bg: background(e),
                  text: e.textContent.trim().slice(0, 40)}));
  }
  return out;
}"""

READABLE = {
    "text": "article p, article li",
    "headings": "article h1, article h2, article h3",
    "links": "article a.reference",
    "code": "article div.highlight pre, article div.highlight pre span",
    "inline code": "article code.literal",
    "outputs": "article div.cell_output pre",
    "math": "article mjx-container",
    "captions": "article figcaption, article figcaption *",
    "toggles": "article summary p",
}


def _switch_theme(p, target: str) -> list[str]:
    """Click the theme switcher until the page shows ``target``; returns the modes seen."""
    seen = [p.evaluate("document.documentElement.dataset.mode || 'auto'")]
    for _ in range(3):
        if p.evaluate("document.documentElement.dataset.theme") == target:
            break
        p.locator("button.theme-switch-button").first.click()
        seen.append(p.evaluate("document.documentElement.dataset.mode"))
    assert p.evaluate("document.documentElement.dataset.theme") == target, seen
    return seen


def test_theme_switcher_gives_a_readable_dark_mode(
    audit, browser, base_url, site_stats
):
    """Dark mode by a click; contrasts measured; screenshots compared with the light ones."""
    from axe_playwright_python.sync_playwright import Axe

    plot_page = _plot_page()
    pages = _screenshot_pages() + ([plot_page] if plot_page else [])
    assert plot_page is not None, "no page with a plot"
    visit = Visit(browser, base_url)
    measured: Counter = Counter()
    poor: list[str] = []
    responses = []
    try:
        for i, page in enumerate(pages):
            visit.goto(page)
            p = visit.page
            if i == 0:
                assert p.evaluate("document.documentElement.dataset.theme") == "light"
                modes = _switch_theme(p, "dark")
                assert modes[-1] == "dark", modes
            else:  # the choice is remembered from page to page
                assert p.evaluate("document.documentElement.dataset.theme") == "dark", (
                    f"{page.docname}: dark mode not kept after navigating"
                )
            settle(p)  # colours fade in over CSS transitions: measure the final ones
            for name, items in p.evaluate(CONTRASTS, READABLE).items():
                for item in items:
                    ratio = sh.contrast_ratio(item["fg"], item["bg"])
                    measured[name] += 1
                    if ratio < MIN_CONTRAST:
                        poor.append(
                            f"{page.docname}: {name} {item['text']!r} {ratio:.2f} "
                            f"({item['fg']} on {item['bg']})"
                        )
            # Plots in closed solution dropdowns are not shown, so not measured.
            plots = p.locator("div.cell_output img:visible")
            for k in range(min(plots.count(), 3)):
                plots.nth(k).scroll_into_view_if_needed()
                ratio = sh.image_contrast(plots.nth(k).screenshot())
                measured["plots"] += 1
                if ratio < MIN_CONTRAST:
                    poor.append(f"{page.docname}: plot {k} ink/paper {ratio:.2f}")
            if page is plot_page:
                plots.first.scroll_into_view_if_needed()
                _save(p.screenshot, f"{page.slug}-plot-dark.png", site_stats)
            settle(p)
            responses.append(Axe().run(p).response)
            if page is not plot_page or page in _screenshot_pages():
                _save(p.screenshot, f"{page.slug}-dark.png", site_stats)
        assert not visit.errors, visit.errors
    finally:
        visit.close()
    _record_axe(site_stats, responses, "dark")
    assert {"text", "code", "math", "plots"} <= set(measured), measured
    assert not poor, "unreadable in dark mode:\n" + "\n".join(poor[:30])
    blocking = [f for r in responses for f in _blocking(r)]
    assert not blocking, "axe-core in dark mode:\n" + "\n".join(blocking)
    site_stats["theme"] = ", ".join(f"{k} {v}" for k, v in sorted(measured.items()))
    for page in _screenshot_pages():
        shots = {
            s: sh.SCREENSHOTS / f"{page.slug}-{s}.png"
            for s in ("light", "dark", "narrow")
        }
        for png in shots.values():
            assert png.is_file(), f"{png} missing"
            assert png.stat().st_size > 10_000, f"{png} missing"
        grey = {s: sh.luminance(shots[s]) for s in ("light", "dark")}
        assert grey["dark"] < 100 < grey["light"], f"{page.docname}: grey levels {grey}"


def _walk(visit, link: str, limit: int) -> list[str]:
    """Follow ``link`` (next or previous) from the current page while there is one."""
    p = visit.page
    seen = [visit.docname()]
    while p.locator(link).count():
        assert len(seen) <= limit, f"{link} links loop: {seen}"
        with p.expect_navigation(wait_until="domcontentloaded"):
            p.locator(link).first.click()
        seen.append(visit.docname())
    return seen


def test_next_and_previous_walk_the_book_in_toc_order(browser, base_url, site_stats):
    expected = [p.docname for p in PAGES]
    visit = Visit(browser, base_url)
    try:
        p = visit.page
        p.goto(visit.url(PAGES[0]), wait_until="domcontentloaded")
        forward = _walk(visit, "a.right-next", len(expected))
        assert forward == expected, (
            f"next links walk {forward}, _toc.yml order is {expected}"
        )
        backward = _walk(visit, "a.left-prev", len(expected))
        assert backward == expected[::-1], f"previous links walk {backward}"
        assert not visit.failed, (visit.failed, visit.external)
        assert not visit.external, (visit.failed, visit.external)
    finally:
        visit.close()
    site_stats["navigation"] = len(forward)
