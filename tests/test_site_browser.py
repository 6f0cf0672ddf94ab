"""The built site used in a browser: Playwright (Python) driving headless Chromium.

``_build/html`` (built by ``make test`` before pytest starts) is served on 127.0.0.1 and every
page of ``_toc.yml`` is loaded the way a reader's browser loads it; requests that leave the
site are refused and reported (the site must work offline). Each pytest-xdist worker starts
one Chromium and shares it; each page is loaded and checked by one test, so the pages spread
over the workers (``make test`` runs ``--dist load --maxschedchunk 1``, biggest pages first:
conftest.py). On every page: every formula (rendered
by KaTeX when the site was built) is drawn with KaTeX's stylesheet and fonts, which load from
the site; every request succeeds and no script raises; every image loads; axe-core finds no
violation of impact serious or critical (the others are listed in the summary; KaTeX's visual
layout of the formulas, hidden from screen readers, is audited on the page with the most math,
see KATEX_LAYOUT); on notebook
pages the set-up cell opens when its toggle is clicked; at a 390-px-wide viewport nothing
overflows horizontally except code blocks (a cell's code and its printed output, which scroll
sideways in their own box): no element sticks out, no other box scrolls sideways. In dark mode
text, code, math and plots stay readable (contrast measured) on the home page, the page with
the most math in each chapter and the first page with a plot, and axe-core finds nothing
serious on the first and last of these (AXE_DARK). Then the
interactions: the theme's icons are drawn (by its webfonts, without fontawesome.js); the
launch and download menus open and serve the notebook; the search box finds the right
sections; the theme switcher turns the site dark and the choice is kept from page to page.
Screenshots (light, dark, narrow) go to ``_build/screenshots/``.

What the static HTML shows is checked there, not here (``tests/test_site_html.py``):
rendered formulas, TeX left as text, links, next/previous order, Colab and download links.

The browser is Debian's Chromium (or $CHROMIUM), found at run time: ``playwright install``
is not needed. Outside CI a missing build or browser skips these tests; with CI=true they fail.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from functools import cache
from urllib.parse import urlsplit

import pytest
import site_helpers as sh
from playwright.sync_api import sync_playwright

PAGES = sh.toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if p.notebook]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")
# axe-core reports every element of every rule it ran, passes included; only the violations
# are used (a page holds up to ~25,000 elements, most of them KaTeX's).
AXE_OPTIONS = {"resultTypes": ["violations"]}
MIN_CONTRAST = 4.5  # WCAG AA for body text

# (query, sections that must be among the results)
SEARCHES = [
    ("cross-entropy", {"4.1", "4.4"}),
    ("broadcasting", {"2.1"}),
    ("backpropagation", {"5.3"}),
]


# Fixtures: one server and one browser per worker -------------------------------


@pytest.fixture(scope="session")
def base_url(site):
    with sh.serve(site) as url:
        yield url


@pytest.fixture(scope="session")
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

    def clear(self):
        for found in (self.errors, self.failed, self.external, self.requests):
            found.clear()

    def url(self, page: sh.Page) -> str:
        return self.base + page.url_path

    def docname(self) -> str:
        path = urlsplit(self.page.url).path.lstrip("/")
        return re.sub(r"\.html$", "", path)

    def goto(self, page: sh.Page) -> None:
        """Load ``page`` and wait until its formulas are final (fitted to the width)."""
        self.page.goto(self.url(page), wait_until="load")
        wait_for_math(self.page)

    def close(self):
        self.context.close()


# Console errors that are no fault of the site, each with its reason.
CONSOLE_NOISE = (
    # Chromium's line for an HTTP error: the response handler records those with the URL
    # (and axe-core's own stylesheet fetches cause some, see test_page_in_the_browser).
    "Failed to load resource",
    # pydata-sphinx-theme on a first visit (nothing in localStorage yet, and
    # sphinx-book-theme offers no default_mode option): it then starts in "auto", as meant.
    "Got invalid theme mode",
)


def wait_for_math(p) -> None:
    """_static/fit_math.js scales wide formulas to the window once the math fonts are in,
    then writes the width it fitted for; from then on the formulas do not change."""
    p.wait_for_function(
        "document.documentElement.dataset.mathFitted === String(window.innerWidth)"
    )


def settle(p) -> None:
    """Scroll to the top and wait until the theme's CSS transitions (sidebars) are over."""
    p.evaluate("window.scrollTo(0, 0)")
    p.wait_for_function(
        "document.getAnimations().filter(a => a.playState === 'running').length === 0"
    )
    wait_for_math(p)


# What a page shows -----------------------------------------------------------------------

# Every formula is rendered into the page (tests/test_site_html.py checks the HTML); here:
# the ones laid out (not in a closed dropdown) are drawn by KaTeX's stylesheet (its MathML
# copy, for screen readers, visually hidden; its HTML box with a size), with KaTeX's fonts,
# every one of which loaded.
MATH_REPORT = """() => {
  const nodes = [...document.querySelectorAll('span.math, div.math')];
  const shown = nodes.filter(n => n.getClientRects().length);
  const undrawn = shown.filter(n => {
    const html = n.querySelector('.katex-html'), mathml = n.querySelector('.katex-mathml');
    if (!html || !mathml) return true;
    const box = html.getBoundingClientRect();
    return !box.width || !box.height || getComputedStyle(mathml).position !== 'absolute';
  }).map(n => n.textContent.slice(0, 80));
  const katex = [...document.fonts].filter(f => f.family.replace(/["']/g, '').startsWith('KaTeX'));
  const family = e => e ? getComputedStyle(e).fontFamily : '';
  return {
    nodes: nodes.length, shown: shown.length, undrawn,
    errors: document.querySelectorAll('.katex-error').length,
    // Formulas _static/fit_math.js keeps invisible while the parser may be inside them:
    // none is left once the page is fitted.
    pending: document.querySelectorAll('[data-math-pending]').length,
    family: family(document.querySelector('.katex')),
    loaded: katex.filter(f => f.status === 'loaded').map(f => f.family.replace(/["']/g, '')),
    faces: katex.filter(f => f.status === 'loaded')
      .map(f => [f.family.replace(/["']/g, ''), f.weight, f.style].join(' ')),
    preloaded: [...document.querySelectorAll('link[rel="preload"][as="font"]')]
      .map(l => l.getAttribute('href').split('/').pop()),
    failed: katex.filter(f => f.status === 'error').map(f => f.family),
  };
}"""

# KaTeX's font files are named by family and variant: KaTeX_Main-Bold.woff2.
VARIANTS = {
    "Regular": "400 normal",
    "Bold": "700 normal",
    "Italic": "400 italic",
    "BoldItalic": "700 italic",
}


def _font_face(file: str) -> str:
    """The face a KaTeX font file holds, as MATH_REPORT lists faces: "KaTeX_Main 700 normal"."""
    family, _, variant = file.removesuffix(".woff2").rpartition("-")
    return f"{family} {VARIANTS.get(variant, variant)}"


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
  const content = '.katex, img, svg, table, figure, a, .prev-next-info';
  const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  // Memoised over the ancestors: pages hold tens of thousands of elements.
  const shown = new Map(), clips = new Map();
  const visible = e => {
    if (!e) return true;
    if (!shown.has(e)) {
      const s = getComputedStyle(e);
      shown.set(e, s.display !== 'none' && s.visibility !== 'hidden' && visible(e.parentElement));
    }
    return shown.get(e);
  };
  // The nearest ancestor that clips or scrolls sideways.
  const clippedBy = e => {
    const a = e.parentElement;
    if (!a || a === document.documentElement) return null;
    if (!clips.has(a)) {
      const clipping = ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX);
      clips.set(a, clipping ? a : clippedBy(a));
    }
    return clips.get(a);
  };
  // A formula is checked as a whole (.katex), not glyph by glyph.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT, {
    acceptNode: e => e.parentElement.closest('.katex') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const sticking = [], cut = [], scrolling = [];
  for (let e = walker.nextNode(); e; e = walker.nextNode()) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || !visible(e)) continue;
    const box = clippedBy(e);
    const where = describe(e) + ' ' + Math.round(r.left) + '..' + Math.round(r.right);
    if (!box || box === document.body) {
      if (r.right > vw + 1 || r.left < -1) sticking.push(where);
    } else if (e.matches(content) && ['hidden', 'clip'].includes(getComputedStyle(box).overflowX)) {
      // Content cut off by a box that does not scroll: part of it cannot be seen at all.
      const b = box.getBoundingClientRect();
      // (KaTeX's MathML copy for screen readers is clipped on purpose.)
      const hidden = e.closest('.katex-mathml, .visually-hidden, .sr-only');
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
          scales: [...document.querySelectorAll('span.math, div.math > .katex-display')]
            .map(m => parseFloat(m.style.fontSize)).filter(s => s > 0),
          sticking: sticking.slice(0, 10), cut: cut.slice(0, 10),
          scrolling: scrolling.slice(0, 10)};
}"""


@cache
def _math_weight(page: sh.Page) -> int:
    """How many formulas the built page holds (read once: SHOTS and MOST_MATH ask)."""
    return page.html.read_text(encoding="utf-8").count('class="math')


def _screenshot_pages() -> list[sh.Page]:
    """Home page, the page with most formulas in each chapter, and the first page with a plot."""
    chosen = [PAGES[0]]
    best: dict[str, tuple[int, sh.Page]] = {}
    for page in PAGES:
        if not page.number or not page.html.exists():
            continue
        weight = _math_weight(page)
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


SHOTS = _screenshot_pages()
PLOT_PAGE = _plot_page()
# The page of the book with the most formulas, where axe-core audits KaTeX's layout too.
MOST_MATH = max((p for p in PAGES if p.html.exists()), key=_math_weight, default=None)


def _save(shot, name: str, site_stats) -> None:
    path = sh.SCREENSHOTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    shot(path=str(path))
    site_stats.setdefault("screenshots", []).append(str(path.relative_to(sh.ROOT)))


# One test per page ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def visit(browser, base_url):
    """One browser page per worker, reused from site page to site page (light mode)."""
    shared = Visit(browser, base_url)
    yield shared
    shared.close()


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_page_in_the_browser(page, visit, axe, browser, base_url, site_stats):
    """Load the page once, as a reader would, and check everything it shows.

    Light mode at 1280 px: formulas drawn with KaTeX's stylesheet and fonts, no failed or
    outside request, no script error, images loaded with alt text, no serious or critical
    axe-core violation (see KATEX_LAYOUT), the set-up cell opening on a click. Then 390 px:
    nothing but code scrolls sideways. On the screenshot pages: 1280 px again, every formula
    scaled as it was; and dark mode (see _dark_problems), as on the first page with a plot. Every problem found is reported, not only the first.
    """
    if not page.html.exists():
        pytest.fail(f"{page.docname} was not built (see _toc.yml)")
    for old in sh.SCREENSHOTS.glob(f"{page.slug}-*.png"):
        old.unlink()
    visit.clear()
    p = visit.page
    p.set_viewport_size(WIDE)
    visit.goto(page)
    problems = _math_problems(page, p.evaluate(MATH_REPORT), visit, site_stats)
    problems += _load_problems(page, visit, p.evaluate(IMAGES))
    problems += _axe_problems(page, p, axe, site_stats)
    wide_scales = p.evaluate(SCALES)
    if page in SHOTS:
        p.evaluate("window.scrollTo(0, 0)")
        _save(p.screenshot, f"{page.slug}-light.png", site_stats)
    if page == PLOT_PAGE:
        p.locator("div.cell_output img:visible").first.scroll_into_view_if_needed()
        _save(p.screenshot, f"{page.slug}-plot-light.png", site_stats)
    if page.notebook:
        problems += _toggle_problems(p, site_stats)
    p.set_viewport_size(NARROW)
    settle(p)
    problems += _narrow_problems(page, p.evaluate(OVERFLOW), site_stats)
    if page in SHOTS:
        _save(p.screenshot, f"{page.slug}-narrow.png", site_stats)
    if page in SHOTS:  # the pages with the most math: back to 1280 px
        p.set_viewport_size(WIDE)
        settle(p)
        if (scales := p.evaluate(SCALES)) != wide_scales:
            changed = sum(a != b for a, b in zip(scales, wide_scales, strict=True))
            problems.append(
                f"{changed} formulas scaled differently after 390 px and back"
            )
    if page in SHOTS or page == PLOT_PAGE:
        problems += _dark_problems(page, browser, base_url, site_stats)
    site_stats["browser"]["pages"] += 1
    assert not problems, f"{page.docname}:\n" + "\n".join(problems)


# KaTeX's visual layout of the formulas: hidden from screen readers (which read the MathML copy
# beside it), drawn with the same stylesheet and colours on every page (no formula sets its own
# colour: tests/test_site_html.py), and most of a math page's elements (about 15,000 of 19,500
# on 4.1), which take axe-core two thirds of its time there. axe-core audits it on MOST_MATH,
# the page with the most formulas (in light mode; in dark mode on AXE_DARK, whose few formulas
# keep their layout); on every other page it audits the page with the layout taken out for the
# audit and put back after it.
KATEX_LAYOUT = ".katex-html"
TAKE_OUT = f"""() => {{
  window.__takenOut = [...document.querySelectorAll('{KATEX_LAYOUT}')]
    .map(e => [e, e.parentNode, e.nextSibling]);
  window.__takenOut.forEach(([e]) => e.remove());
  return window.__takenOut.length;
}}"""
PUT_BACK = """() => {
  const taken = window.__takenOut;
  taken.forEach(([e, parent, next]) => parent.insertBefore(e, next));
  delete window.__takenOut;
  return taken.length;
}"""

# The scale _static/fit_math.js gave each formula ("" for none).
SCALES = (
    "() => [...document.querySelectorAll('span.math, div.math > .katex-display')]"
    ".map(m => m.style.fontSize)"
)


def _axe_problems(page: sh.Page, p, axe, site_stats) -> list[str]:
    """axe-core on the page as loaded (see KATEX_LAYOUT)."""
    whole = page == MOST_MATH
    taken_out = 0 if whole else p.evaluate(TAKE_OUT)
    try:
        # After the page's own requests: axe-core fetches the stylesheets again, resolving
        # @import against the page instead of the stylesheet (a 404 of the audit, not the
        # site).
        response = axe.run(p, options=AXE_OPTIONS).response
    finally:
        if not whole:
            assert p.evaluate(PUT_BACK) == taken_out
    if not whole:
        stats = site_stats.setdefault("axe_without_katex_layout", {})
        stats["pages"] = stats.get("pages", 0) + 1
        stats["formulas"] = stats.get("formulas", 0) + taken_out
    _record_axe(site_stats, [response], "light")
    return [f"axe-core: {found}" for found in _blocking(response)]


def _math_problems(page: sh.Page, math: dict, visit: Visit, site_stats) -> list[str]:
    problems = []
    if math["errors"]:
        problems.append(f"{math['errors']} KaTeX errors")
    if math["pending"]:
        problems.append(f"{math['pending']} formulas left invisible by fit_math.js")
    if math["undrawn"]:
        problems.append(
            f"{len(math['undrawn'])} of {math['shown']} formulas not drawn by KaTeX's "
            f"stylesheet, first: {math['undrawn'][0]!r}"
        )
    if math["shown"]:
        if "KaTeX_Main" not in math["family"]:
            problems.append(f"formulas in {math['family']!r}, not KaTeX's fonts")
        if "KaTeX_Main" not in math["loaded"]:
            problems.append(f"KaTeX's fonts did not load: {math['loaded']}")
        if not [u for u in visit.requests if "/_static/katex/fonts/" in u]:
            problems.append("no KaTeX font loaded from the site")
    # The page preloads exactly the math fonts its formulas use (_ext/katex_math.py).
    preloaded = {_font_face(file) for file in math["preloaded"]}
    if missing := set(math["faces"]) - preloaded:
        problems.append(f"math fonts used but not preloaded: {sorted(missing)}")
    if unused := preloaded - set(math["faces"]):
        problems.append(f"math fonts preloaded but not used: {sorted(unused)}")
    if math["failed"]:
        problems.append(f"fonts failed to load: {math['failed']}")
    site_stats.setdefault("math", {})[page.docname] = [math["nodes"], math["shown"]]
    if preloaded:
        site_stats.setdefault("fonts", {})[page.docname] = len(preloaded)
    return problems


def _load_problems(page: sh.Page, visit: Visit, images: list[dict]) -> list[str]:
    problems = []
    if visit.external:
        problems.append(f"requests leaving the site: {visit.external[:5]}")
    if visit.failed:
        problems.append(f"failed requests: {visit.failed}")
    if visit.errors:
        problems.append(f"script errors: {visit.errors}")
    if broken := [i["src"] for i in images if not i["loaded"]]:
        problems.append(f"images that did not load: {broken}")
    if nameless := [i["src"] for i in images if not (i["alt"] or "").strip()]:
        problems.append(f"images without alt text: {nameless}")
    return problems


def _toggle_problems(p, site_stats) -> list[str]:
    """Is the set-up cell's code hidden at first, and shown after a click on its toggle?"""
    cell = p.locator("div.cell").first
    code = cell.locator("div.cell_input pre")
    if code.is_visible():
        return ["set-up cell shown open"]
    cell.locator("details.hide > summary").click()
    if not code.is_visible() or "Colab set-up" not in code.inner_text():
        return ["clicking the set-up cell's toggle does not show its code"]
    site_stats["toggles"] = site_stats.get("toggles", 0) + 1
    return []


def _narrow_problems(page: sh.Page, narrow: dict, site_stats) -> list[str]:
    problems = []
    if narrow["documentWidth"] > narrow["viewport"]:
        problems.append(
            f"the page scrolls sideways at {narrow['viewport']} px "
            f"(document {narrow['documentWidth']} px wide): {narrow['sticking']}"
        )
    if narrow["sticking"]:
        problems.append(f"elements stick out of the viewport: {narrow['sticking']}")
    if narrow["cut"]:
        problems.append(f"elements cut off by their box: {narrow['cut']}")
    if narrow["scrolling"]:
        problems.append(
            f"boxes other than code blocks scroll sideways: {narrow['scrolling']}"
        )
    site_stats["narrow"] = site_stats.get("narrow", 0) + (not problems)
    if narrow["scales"]:  # formulas _static/fit_math.js scaled down to fit
        scaled = site_stats.setdefault("scaled", {})
        scaled[page.docname] = [len(narrow["scales"]), min(narrow["scales"])]
    return problems


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


def _blocking(response: dict) -> list[str]:
    found = []
    for v in response["violations"]:
        if v["impact"] in BLOCKING:
            targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
            found.append(
                f"{v['impact']} {v['id']} ({v['help']}): {len(v['nodes'])} x, e.g. {targets}"
            )
    return found


# Interactions --------------------------------------------------------------------------------

ICONS = """() => {
  const icons = [...document.querySelectorAll('.bd-header-article i, .bd-header i')]
    .filter(i => /\\bfa-/.test(i.className) && i.getClientRects().length);
  return {
    icons: icons.map(i => ({name: i.className, width: i.getBoundingClientRect().width,
                            glyph: getComputedStyle(i, '::before').content})),
    svg: document.querySelectorAll('svg.svg-inline--fa').length,
    solid: document.fonts.check('900 16px "Font Awesome 6 Free"'),
    brands: document.fonts.check('400 16px "Font Awesome 6 Brands"'),
  };
}"""


# A page that arrives in two parts, with a pause in the middle of a formula too wide for a phone.
SLOW_PAGE = "chapters/04_softmax_regression/4_1_softmax_regression"
SLOW_FORMULA = "equation-eq-4-1-gibbs"
# The pause lasts until the page reports PAINTED_FRAMES frames painted while the parser waited
# inside the formula (at most MAX_PAUSE_S): a fixed pause proved too short on a loaded machine,
# where Chromium painted no frame at all during 1.5 s (every sample came after the rest).
PAINTED_FRAMES = 3
MAX_PAUSE_S = 20
PAINTED_URL = "__painted"


class _PausingHandler(sh._QuietHandler):
    """Sends ``?pause`` requests for SLOW_PAGE in two parts: up to the middle of
    SLOW_FORMULA's layout, then the rest once the page has requested PAINTED_URL (as a slow
    network does). ``painted`` is set by that request; the test gives each run a new one."""

    painted = threading.Event()

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == f"/{PAINTED_URL}":
            type(self).painted.set()
            self.send_response(204)
            self.end_headers()
            return None
        if query != "pause" or path != f"/{SLOW_PAGE}.html":
            return super().do_GET()
        html = (sh.HTML / f"{SLOW_PAGE}.html").read_bytes()
        formula = html.index(f'id="{SLOW_FORMULA}"'.encode())
        cut = html.index(b'class="katex-html"', formula) + 400
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(html)))
        self.end_headers()
        self.wfile.write(html[:cut])
        self.wfile.flush()
        type(self).painted.wait(MAX_PAUSE_S)
        self.wfile.write(html[cut:])


# Installed before the page's scripts: at the start of every frame while the HTML is parsed,
# the state of SLOW_FORMULA as the last frame painted it, and whether the parser has finished
# it (something follows it, as fit_math.js decides); after PAINTED_FRAMES samples of the
# unfinished formula it asks the server for the rest.
SAMPLER = f"""(() => {{
  const samples = window.__samples = [];
  let asked = false;
  const finished = e => {{
    for (; e && e !== document.body; e = e.parentNode) if (e.nextSibling) return true;
    return false;
  }};
  const tick = () => {{
    const box = document.querySelector('#{SLOW_FORMULA} > .katex-display');
    if (box) samples.push({{finished: finished(box), pending: box.hasAttribute(
      'data-math-pending'), opacity: getComputedStyle(box).opacity,
      scale: box.style.fontSize}});
    const waiting = samples.filter(s => !s.finished).length;
    if (!asked && waiting > {PAINTED_FRAMES}) {{
      asked = true;
      fetch('/{PAINTED_URL}');
    }}
    if (document.readyState === 'loading') requestAnimationFrame(tick);
  }};
  requestAnimationFrame(tick);
}})()"""


def test_a_formula_the_parser_is_inside_is_shown_only_when_fitted(browser, site):
    """_static/fit_math.js keeps the formula the HTML parser stopped in invisible until the
    parser has finished it, then shows it scaled to the phone's width: a reader never sees
    it unfitted."""
    _PausingHandler.painted = threading.Event()
    with sh.serve(site, _PausingHandler) as base:
        visit = Visit(browser, base, viewport=NARROW)
        try:
            p = visit.page
            p.add_init_script(SAMPLER)
            p.goto(f"{base}{SLOW_PAGE}.html?pause", wait_until="load")
            wait_for_math(p)
            samples = p.evaluate("window.__samples")
            box = f"#{SLOW_FORMULA} > .katex-display"
            final = p.evaluate(
                f"getComputedStyle(document.querySelector('{box}')).opacity"
            )
            scale = p.evaluate(f"document.querySelector('{box}').style.fontSize")
            pending = p.evaluate(
                "document.querySelectorAll('[data-math-pending]').length"
            )
        finally:
            visit.close()
    waiting = [s for s in samples if not s["finished"]]
    # The first sample after the formula arrived shows it before its first paint.
    painted = waiting[1:]
    assert _PausingHandler.painted.is_set(), (
        f"no frames painted while the parser waited {MAX_PAUSE_S} s inside the formula: "
        f"{samples[:3]}"
    )
    assert len(painted) >= PAINTED_FRAMES, samples
    shown = [s for s in painted if not (s["pending"] and s["opacity"] == "0")]
    assert not shown, f"painted visible before the parser finished it: {shown[:3]}"
    assert {s["scale"] for s in painted} == {""}, "measured before it was finished"
    assert [final, pending] == ["1", 0]
    assert scale.endswith("%"), scale  # scaled down to fit 390 px
    assert float(scale.rstrip("%")) < 100, scale


def test_theme_icons_are_drawn_by_the_webfonts(browser, base_url):
    """Without fontawesome.js the theme's icons are glyphs of its Font Awesome webfonts."""
    visit = Visit(browser, base_url)
    try:
        visit.goto(NOTEBOOK_PAGES[0])
        icons = visit.page.evaluate(ICONS)
    finally:
        visit.close()
    assert icons["svg"] == 0, "fontawesome.js ran: icons were replaced by SVGs"
    assert len(icons["icons"]) >= 5, icons  # launch, repository, download, theme, ...
    blank = [i for i in icons["icons"] if i["width"] < 8 or i["glyph"] in ("none", "")]
    assert not blank, f"icons not drawn: {blank}"
    assert icons["solid"], "the Font Awesome solid webfont did not load"
    assert icons["brands"], "the Font Awesome brands webfont did not load"


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


# Search and dark mode ---------------------------------------------------------------------


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
    "math": "article .katex",
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


def test_theme_switcher_turns_the_site_dark_and_keeps_it(browser, base_url):
    """Dark mode by clicks on the switcher, still dark on the next page."""
    visit = Visit(browser, base_url)
    try:
        p = visit.page
        visit.goto(PAGES[0])
        assert p.evaluate("document.documentElement.dataset.theme") == "light"
        modes = _switch_theme(p, "dark")
        assert modes[-1] == "dark", modes
        with p.expect_navigation():
            p.locator("a.right-next").first.click()
        assert p.evaluate("document.documentElement.dataset.theme") == "dark", (
            f"{visit.docname()}: dark mode not kept after navigating"
        )
        assert not visit.errors, visit.errors
    finally:
        visit.close()


# axe-core in dark mode where it adds to the light audits and the contrasts measured here: only
# colours change, and these two pages hold every kind of box the theme colours (header,
# sidebars, search, exercises and solutions, code, outputs, plots, tables, formulas).
AXE_DARK = [PAGES[0]] + ([PLOT_PAGE] if PLOT_PAGE else [])

# The theme's own way of remembering the reader's choice (what the switcher stores).
DARK = "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"


def _dark_problems(page: sh.Page, browser, base_url: str, site_stats) -> list[str]:
    """Dark mode: contrasts measured, screenshots compared with the light ones, axe-core on
    the pages of AXE_DARK."""
    from axe_playwright_python.sync_playwright import Axe

    visit = Visit(browser, base_url)
    visit.context.add_init_script(DARK)
    measured: Counter = Counter()
    problems: list[str] = []
    try:
        visit.goto(page)
        p = visit.page
        if p.evaluate("document.documentElement.dataset.theme") != "dark":
            return ["dark mode: the theme did not take the stored choice"]
        settle(p)  # colours fade in over CSS transitions: measure the final ones
        for name, items in p.evaluate(CONTRASTS, READABLE).items():
            for item in items:
                ratio = sh.contrast_ratio(item["fg"], item["bg"])
                measured[name] += 1
                if ratio < MIN_CONTRAST:
                    problems.append(
                        f"dark mode: {name} {item['text']!r} {ratio:.2f} "
                        f"({item['fg']} on {item['bg']})"
                    )
        # Plots in closed solution dropdowns are not shown, so not measured.
        plots = p.locator("div.cell_output img:visible")
        for k in range(min(plots.count(), 3)):
            plots.nth(k).scroll_into_view_if_needed()
            ratio = sh.image_contrast(plots.nth(k).screenshot())
            measured["plots"] += 1
            if ratio < MIN_CONTRAST:
                problems.append(f"dark mode: plot {k} ink/paper {ratio:.2f}")
        if page == PLOT_PAGE:
            plots.first.scroll_into_view_if_needed()
            _save(p.screenshot, f"{page.slug}-plot-dark.png", site_stats)
        settle(p)
        response = (
            Axe().run(p, options=AXE_OPTIONS).response if page in AXE_DARK else None
        )
        if page in SHOTS:
            _save(p.screenshot, f"{page.slug}-dark.png", site_stats)
        problems += [f"dark mode: script error {e}" for e in visit.errors]
        shown = p.evaluate(MATH_REPORT)["shown"]
    finally:
        visit.close()
    if response is not None:
        _record_axe(site_stats, [response], "dark")
        problems += [f"axe-core in dark mode: {found}" for found in _blocking(response)]
    expected = {"text"} | ({"code"} if page.notebook else set())
    expected |= ({"math"} if shown else set()) | (
        {"plots"} if page == PLOT_PAGE else set()
    )
    if not expected <= set(measured):
        problems.append(f"dark mode: measured only {dict(measured)}, not {expected}")
    theme = site_stats.setdefault("theme", {})
    for name, count in measured.items():
        theme[name] = theme.get(name, 0) + count
    if page in SHOTS:
        shots = {s: sh.SCREENSHOTS / f"{page.slug}-{s}.png" for s in ("light", "dark")}
        grey = {s: sh.luminance(png) for s, png in shots.items()}
        if not grey["dark"] < 100 < grey["light"]:
            problems.append(f"dark mode: grey levels of the screenshots {grey}")
    return problems
