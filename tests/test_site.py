"""Browser test of the built site: the pages as a reader's browser renders them.

Runs against ``_build/html``, which ``make test`` builds (strictly) before pytest starts. Every
page of ``_toc.yml`` is loaded in headless Chromium (Debian's ``chromium``) and its DOM, after
MathJax and the theme's scripts ran, is checked: every formula typeset and none left raw or in
error, equation and section numbers as the table of contents implies, Colab / download /
repository buttons on notebook pages, alt text on every image, heading levels in order. Every
internal link and asset of every HTML file must resolve to a file (and anchors to an id), the
status page must list every notebook, and screenshots in light and dark mode are saved under
``_build/screenshots/`` for people to look at.

Outside CI a missing build or browser skips these tests with a message; with CI=true they fail.
The figures (pages, formulas, links, screenshots) are printed at the end and written to
``_build/site-test-summary.txt``.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import site_helpers as sh

PAGES = sh.toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if p.notebook]
STATS: dict[str, object] = {}
RAW_TEX = ("$$", "\\[", "\\]", "\\(", "\\begin{")
EQNO = re.compile(r"^\((\d+(?:\.\d+)*)\.(\d+)\)$")


def _unavailable(reason: str) -> None:
    if sh.in_ci():
        pytest.fail(f"{reason} (CI=true: the browser test must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site() -> Path:
    if not (sh.HTML / "index.html").exists():
        _unavailable(
            f"no built site at {sh.HTML}: run `make test` (it builds the site first) "
            "or `make book`, then this test"
        )
    if sh.chromium() is None:
        _unavailable("headless Chromium not found: `apt-get install chromium`")
    return sh.HTML.resolve()


def _get(mapping: dict, key, what: str):
    if key not in mapping:
        pytest.fail(f"{what} {key} is missing: was the page built? (see _toc.yml)")
    return mapping[key]


@pytest.fixture(scope="module")
def static(site) -> dict[str, object]:
    """The built HTML of every page, parsed (no browser)."""
    return {p.docname: sh.read_soup(p.html) for p in PAGES if p.html.exists()}


PLOT_SHOT_HEIGHT = 4000  # pixels: tall enough to reach the first plot of a section


def _screenshot_pages(static) -> list[tuple[sh.Page, bool]]:
    """Pages to photograph: (page, tall), tall for the one photographed to show a plot.

    The home page, the most formula-heavy page of each chapter, and the page whose first
    plot comes earliest (least text before it), in a window tall enough to include it.
    """
    chosen = [(PAGES[0], False)]
    by_chapter: dict[str, sh.Page] = {}
    weight = {}
    for page in PAGES[1:]:
        if not page.number or page.docname not in static:
            continue
        weight[page] = len(static[page.docname].select(".math"))
        chapter = page.number.split(".")[0]
        if chapter not in by_chapter or weight[page] > weight[by_chapter[chapter]]:
            by_chapter[chapter] = page
    chosen += [(p, False) for p in by_chapter.values()]
    text_before_plot = {}
    for page in PAGES:
        article = static.get(page.docname) and static[page.docname].select_one(
            "article"
        )
        plot = article.select_one("div.cell_output img") if article else None
        if plot is not None:
            before = str(article).split(str(plot), 1)[0]
            text_before_plot[page] = len(sh.soup(before).get_text())
    if text_before_plot:
        chosen.append((min(text_before_plot, key=text_before_plot.get), True))
    return chosen


def _shot_name(page: sh.Page, tall: bool, scheme: str) -> str:
    return f"{page.slug}{'-plot' if tall else ''}-{scheme}.png"


@pytest.fixture(scope="module")
def rendered(site, static) -> dict[tuple[str, str], object]:
    """DOM after scripts ran: every page in light mode, the photographed ones in dark mode.

    Keys are (docname, scheme), scheme "light" or "dark", or "light-plot" and "dark-plot"
    for the tall screenshot of a page with a plot. Screenshots are saved by the same
    Chromium runs.
    """
    shots = _screenshot_pages(static)
    tops = {page for page, tall in shots if not tall}
    jobs = []
    for page in PAGES:
        if page.html.exists():
            png = _shot_name(page, False, "light") if page in tops else None
            jobs.append((page, "light", False, png))
    for page, tall in shots:
        if tall:
            jobs.append((page, "light", True, _shot_name(page, True, "light")))
        jobs.append((page, "dark", tall, _shot_name(page, tall, "dark")))
    if sh.SCREENSHOTS.exists():
        for old in sh.SCREENSHOTS.glob("*.png"):
            old.unlink()

    def run(job):
        page, scheme, tall, png = job
        png = sh.SCREENSHOTS / png if png else None
        height = PLOT_SHOT_HEIGHT if tall else 1600
        key = (page.docname, f"{scheme}-plot" if tall else scheme)
        return key, sh.soup(sh.render(page.html, scheme, png, height))

    with ThreadPoolExecutor(max_workers=2) as pool:
        doms = dict(pool.map(run, jobs))
    STATS["screenshots"] = sorted(
        str(p.relative_to(sh.ROOT)) for p in sh.SCREENSHOTS.glob("*.png")
    )
    STATS["shots"] = shots
    return doms


def test_every_toc_page_was_built(site):
    missing = [p.docname for p in PAGES if not p.html.exists()]
    assert not missing, f"pages of _toc.yml missing from {site}: {missing}"
    assert len(NOTEBOOK_PAGES) >= 1, "no notebook pages in _toc.yml"
    redirect = sh.read_soup(site / "index.html").find(
        "meta", attrs={"http-equiv": True}
    )
    assert redirect is not None and f"{PAGES[0].docname}.html" in redirect["content"], (
        "index.html must redirect to the root page of _toc.yml"
    )


def test_mathjax_is_vendored(static):
    for docname, document in static.items():
        scripts = [s["src"] for s in document.find_all("script", src=True)]
        mathjax = [s for s in scripts if "mathjax" in s.lower()]
        if document.select(".math"):
            assert mathjax, f"{docname}: math but no MathJax script"
        assert all(not sh.EXTERNAL.match(s) for s in mathjax), (
            f"{docname}: MathJax must load from the site (_vendor/), not {mathjax}"
        )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_every_formula_is_typeset(page, static, rendered):
    dom = _get(rendered, (page.docname, "light"), "rendered page")
    math_nodes = _get(static, page.docname, "page").select(".math")
    containers = dom.find_all("mjx-container")
    untypeset = [m for m in dom.select(".math") if m.find("mjx-container") is None]
    assert not untypeset, (
        f"{page.docname}: {len(untypeset)} of {len(math_nodes)} formulas not typeset, "
        f"first: {untypeset[0].get_text()[:120]!r}"
    )
    assert len(containers) >= len(math_nodes)
    errors = dom.find_all("mjx-merror") + dom.find_all(attrs={"data-mjx-error": True})
    assert not errors, (
        f"{page.docname}: MathJax errors: {[e.get('data-mjx-error') for e in errors]}"
    )
    body = sh.text_outside_code(dom.body)
    raw = [d for d in RAW_TEX if d in body]
    assert not raw, (
        f"{page.docname}: raw TeX {raw} left in the text, e.g. "
        f"{body[max(0, body.find(raw[0]) - 80) : body.find(raw[0]) + 80]!r}"
    )
    STATS.setdefault("math", {})[page.docname] = (len(math_nodes), len(containers))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_section_number_follows_the_toc(page, static):
    title = _get(static, page.docname, "page").select_one("article h1")
    assert title is not None, f"{page.docname}: no <h1> in the article"
    number = title.select_one("span.section-number")
    got = number.get_text().strip().rstrip(".") if number else ""
    assert got == page.number, (
        f"{page.docname}: title numbered {got!r}, _toc.yml implies {page.number!r}"
    )


def _section_numbers(node) -> list[str]:
    """Section numbers of the sections enclosing ``node``, innermost first."""
    numbers = []
    for section in node.find_parents("section"):
        heading = section.find(re.compile(r"^h[1-6]$"), recursive=False)
        span = heading.select_one("span.section-number") if heading else None
        if span:
            numbers.append(span.get_text().strip().rstrip("."))
    return numbers


def test_equations_are_numbered_by_section_and_references_match(static):
    numbers = {}  # (docname, equation id) -> "(2.1.3)"
    checked = 0
    for page in PAGES:
        document = _get(static, page.docname, "page")
        seen: dict[str, int] = {}
        for eqno in document.select("div.math span.eqno"):
            text = eqno.find(string=True).strip()  # without the "#" permalink
            match = EQNO.match(text)
            assert match, (
                f"{page.docname}: equation number {text!r} is not like (2.1.3)"
            )
            prefix, position = match.group(1), int(match.group(2))
            sections = [n for n in _section_numbers(eqno) if n.count(".") <= 1]
            assert sections and prefix == sections[0], (
                f"{page.docname}: equation {text} is in section {sections[:1]}"
            )
            seen[prefix] = seen.get(prefix, 0) + 1
            assert position == seen[prefix], (
                f"{page.docname}: equation {text} should be number {seen[prefix]}"
            )
            numbers[(page.docname, eqno.find_parent("div")["id"])] = text
            checked += 1
    refs = 0
    for page in PAGES:
        for link in static[page.docname].select('a[href*="#equation-"]'):
            if "headerlink" in link.get("class", []):
                continue
            target, fragment = sh.local_target(page.html, link["href"])
            docname = target.relative_to(sh.HTML.resolve()).with_suffix("").as_posix()
            assert (docname, fragment) in numbers, (
                f"{page.docname}: {link['href']} is no numbered equation"
            )
            assert link.get_text().strip() == numbers[(docname, fragment)], (
                f"{page.docname}: reference reads {link.get_text()!r}, "
                f"the equation is {numbers[(docname, fragment)]}"
            )
            refs += 1
    STATS["equations"] = (checked, refs)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: p.docname)
def test_notebook_page_has_colab_download_and_repository_buttons(page, rendered):
    dom = _get(rendered, (page.docname, "light"), "rendered page")
    repo = sh.config()["repository"]
    url = repo["url"].rstrip("/")
    github = url.removeprefix("https://github.com/")
    colab = (
        f"https://colab.research.google.com/github/{github}/blob/"
        f"{repo.get('branch', 'main')}/{page.docname}.ipynb"
    )
    launch = [a["href"] for a in dom.find_all("a", href=True) if "colab" in a["href"]]
    assert launch == [colab], f"{page.docname}: Colab links {launch}, expected {colab}"
    downloads = dom.select("a.btn-download-source-button")
    assert len(downloads) == 1, f"{page.docname}: no download-source button"
    target, _ = sh.local_target(page.html, downloads[0]["href"])
    assert target == (sh.HTML / "_sources" / f"{page.docname}.ipynb").resolve(), (
        f"{page.docname}: download button points at {downloads[0]['href']}"
    )
    assert target.is_file(), f"{page.docname}: {target} missing"
    assert '"cells"' in target.read_text(encoding="utf-8"), f"{target} is no notebook"
    assert dom.select(f'a.btn-source-repository-button[href="{url}"]'), (
        f"{page.docname}: no repository button linking {url}"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_images_have_alt_text_and_headings_are_in_order(page, rendered):
    dom = _get(rendered, (page.docname, "light"), "rendered page")
    for img in dom.find_all("img"):
        alt = (img.get("alt") or "").strip()
        src = img.get("src", "")
        assert alt, f"{page.docname}: <img src={src!r}> has no alt text"
        assert alt != src and not re.search(r"\.(svg|png|jpe?g|gif)$", alt, re.I), (
            f"{page.docname}: alt text of {src!r} is a file name: {alt!r}"
        )
    images = STATS.setdefault("images", [0, 0])
    images[0] += len(dom.find_all("img"))
    images[1] += len(dom.select("img.alt-from-context"))

    article = dom.select_one("article.bd-article")
    assert article is not None, f"{page.docname}: no <article>"
    levels = []
    for tag in article.find_all(True):
        if re.fullmatch(r"h[1-6]", tag.name):
            levels.append(int(tag.name[1]))
        elif tag.get("role") == "heading" and tag.get("aria-level"):
            levels.append(int(tag["aria-level"]))
    assert levels and levels[0] == 1 and levels.count(1) == 1, (
        f"{page.docname}: the article must start with its only <h1>: levels {levels}"
    )
    jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
    assert not jumps, f"{page.docname}: heading levels skip: {jumps} in {levels}"
    STATS["headings"] = STATS.get("headings", 0) + len(levels)


MPL_BACKGROUND = re.compile(r'<g id="patch_1">\s*<path [^>]*style="([^"]*)"')


def test_plots_have_an_opaque_background(site, static):
    """Figures keep their own background (d2l.use_svg_display: white), readable in both modes."""
    plots = 0
    for docname, document in static.items():
        page = site / f"{docname}.html"
        for img in document.select("div.cell_output img"):
            file, _ = sh.local_target(page, img["src"])
            if file.suffix == ".svg":
                svg = file.read_text(encoding="utf-8")
                if '<g id="figure_1">' not in svg:
                    continue  # not a Matplotlib figure
                style = MPL_BACKGROUND.search(svg)
                assert style and "fill: none" not in style.group(1), (
                    f"{docname}: {file.name} has a transparent figure background"
                )
                assert "opacity: 0" not in style.group(1), f"{docname}: {file.name}"
            elif file.suffix == ".png":
                from PIL import Image

                with Image.open(file) as image:
                    rgba = image.convert("RGBA")
                    corners = [(0, 0), (rgba.width - 1, rgba.height - 1)]
                    alpha = [rgba.getpixel(c)[3] for c in corners]
                assert min(alpha) == 255, f"{docname}: {file.name} is transparent"
            plots += 1
    STATS["plots"] = plots


def test_every_internal_link_and_asset_resolves(site):
    # Pages, not the theme's Jinja macro files that Sphinx copies into _static/ unrendered.
    files = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.parts]
    parsed = {path.resolve(): sh.read_soup(path) for path in files}
    anchors = {path: sh.ids(document) for path, document in parsed.items()}
    broken, links, fragments = [], 0, 0
    for path, document in parsed.items():
        urls = []
        for tag in document.find_all(True):
            for attr in ("href", "src"):
                if tag.get(attr):
                    urls.append(tag[attr])
            if tag.name == "meta" and tag.get("http-equiv", "").lower() == "refresh":
                urls.append(tag["content"].split("url=", 1)[-1])
        for url in urls:
            target = sh.local_target(path, url)
            if target is None:
                continue
            file, fragment = target
            links += 1
            where = f"{path.relative_to(site)}: {url}"
            if not file.is_file():
                broken.append(where)
            elif fragment and file.suffix == ".html":
                fragments += 1
                if fragment not in anchors.get(file.resolve(), set()):
                    broken.append(f"{where} (no id {fragment!r})")
    for css in sorted(site.rglob("*.css")):
        for url in sh.css_urls(css.read_text(encoding="utf-8", errors="replace")):
            target = sh.local_target(css, url)
            if target is None:
                continue
            links += 1
            if not target[0].is_file():
                broken.append(f"{css.relative_to(site)}: url({url})")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(
        broken[:40]
    )
    STATS["links"] = (links, fragments, len(files))


def test_mathjax_fonts_load_from_the_site(rendered):
    """MathJax writes its @font-face URLs into the page: they must be files of the site."""
    fonts = set()
    for dom in rendered.values():
        for style in dom.find_all("style"):
            fonts |= {u for u in sh.css_urls(style.get_text()) if "woff" in u}
    assert fonts, "no MathJax fonts referenced"
    for url in fonts:
        target = sh.local_target(sh.HTML.resolve(), url)
        assert target is not None and target[0].is_file(), (
            f"font {url} is not a local file"
        )
    STATS["fonts"] = len(fonts)


def test_status_page_shows_every_stored_run(static):
    """One row per notebook, from its stored_run record and (under make test) the nbval report."""
    status = [p for p in PAGES if p.docname.endswith("/status")]
    assert status, "no status page in _toc.yml"
    table = _get(static, status[0].docname, "page").find("table")
    assert table is not None, "status page has no table of stored runs"
    header = [c.get_text().strip() for c in table.select("thead th, thead td")]
    rows = {}
    for row in table.select("tbody tr"):
        cells = [c.get_text().strip() for c in row.find_all(["td", "th"])]
        link = row.find("a")
        assert link is not None, f"status row without a link to its section: {cells}"
        target = link["href"].split("#")[0].removesuffix(".html")
        rows[target] = dict(zip(header, cells))
    report = sh.HTML.parent / "reports" / "nbval.xml"
    for page in NOTEBOOK_PAGES:
        key = page.docname.removeprefix("chapters/")
        assert key in rows, f"status page does not list {page.docname}"
        row = rows[key]
        nb = json.loads(
            (sh.ROOT / (page.docname + ".ipynb")).read_text(encoding="utf-8")
        )
        record = nb["metadata"]["stored_run"]
        assert row["Stored (UTC)"] == record["stored"].replace("T", " ").rstrip("Z")
        assert row["Run time"] == f"{record['seconds']:.1f} s"
        assert row["Device"] == record["device"]
        versions = row.get("Versions", table.find_previous("p").get_text())
        assert f"torch {record['versions']['torch']}" in versions, versions
        if report.is_file():
            n_code = sum(c["cell_type"] == "code" for c in nb["cells"])
            assert row["nbval"] == f"{n_code}/{n_code} passed", (
                f"{page.docname}: last nbval run: {row['nbval']}"
            )
    STATS["status_rows"] = len(rows)


def test_bibliography_lists_the_cited_works(static):
    bib = [p for p in PAGES if p.docname.endswith("/bibliography")]
    assert bib, "no bibliography page in _toc.yml"
    entries = _get(static, bib[0].docname, "page").select('[role="doc-biblioentry"]')
    cited = set()
    for document in static.values():
        for link in document.select('a[href*="bibliography.html#"]'):
            cited.add(link["href"].rsplit("#", 1)[1])
    entry_ids = {e["id"] for e in entries}
    assert cited, "no page cites anything"
    assert cited <= entry_ids, f"citations without entry: {sorted(cited - entry_ids)}"
    assert entry_ids <= cited, f"entries nobody cites: {sorted(entry_ids - cited)}"
    STATS["bibliography"] = len(entries)


def test_dark_mode_screenshots(rendered):
    shots = STATS["shots"]
    assert len(shots) >= 4, f"expected the home page and three chapter pages: {shots}"
    for page, tall in shots:
        suffix = "-plot" if tall else ""
        light = rendered[(page.docname, f"light{suffix}")].html
        dark = rendered[(page.docname, f"dark{suffix}")].html
        assert light["data-theme"] == "light" and dark["data-theme"] == "dark", (
            f"{page.docname}: theme {light['data-theme']} / {dark['data-theme']}"
        )
        pngs = {
            s: sh.SCREENSHOTS / _shot_name(page, tall, s) for s in ("light", "dark")
        }
        assert all(p.is_file() and p.stat().st_size > 10_000 for p in pngs.values())
        grey = {s: sh.luminance(p) for s, p in pngs.items()}
        assert grey["dark"] < 100 < grey["light"], (
            f"{page.docname}: mean grey levels {grey}"
        )


def test_print_summary(site):
    """Report the figures (also in _build/site-test-summary.txt)."""
    math = STATS.get("math", {})
    if not math:
        pytest.skip("no page was checked in this run (tests deselected?)")
    lines = [
        f"pages checked in Chromium: {len(math)} "
        f"({len(NOTEBOOK_PAGES)} notebook pages with Colab/download buttons)",
        f"formulas typeset: {sum(c for _, c in math.values())} mjx-container elements "
        f"for {sum(n for n, _ in math.values())} math nodes, 0 MathJax errors",
    ]
    if "equations" in STATS:
        eqs, refs = STATS["equations"]
        lines.append(f"numbered equations: {eqs}; equation references checked: {refs}")
    if "links" in STATS:
        links, fragments, files = STATS["links"]
        lines.append(
            f"internal links resolved: {links} in {files} HTML files and the CSS "
            f"({fragments} with anchors checked)"
        )
    if "images" in STATS:
        total, context = STATS["images"]
        lines.append(f"images with alt text: {total} ({context} alt from context)")
    if "plots" in STATS:
        lines.append(f"plots with an opaque background: {STATS['plots']}")
    lines.append(f"headings checked: {STATS.get('headings', 0)}")
    if "bibliography" in STATS:
        lines.append(f"bibliography entries: {STATS['bibliography']}")
    if "status_rows" in STATS:
        lines.append(f"status page rows: {STATS['status_rows']}")
    lines.append("screenshots:")
    lines += [f"  {s}" for s in STATS.get("screenshots", [])]
    summary = "\n".join(lines)
    if sh.BUILD.exists():
        (sh.BUILD / "site-test-summary.txt").write_text(
            summary + "\n", encoding="utf-8"
        )
    print("\n" + summary)
