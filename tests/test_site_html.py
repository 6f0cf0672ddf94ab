"""The built site's HTML, checked without a browser.

Runs against ``_build/html``, which ``make test`` builds (strictly) before pytest starts: every
page of ``_toc.yml`` was built and carries the section number the table of contents implies;
every formula arrives rendered by KaTeX (HTML and MathML, no error, no math script), and no
TeX is left in the text outside math, code and outputs; equations are numbered by section and
every equation reference reads the number of its target; each page loads none of the
scripts it does not use (_ext/lean_pages.py); every internal link, asset and anchor resolves;
next/previous links walk the book in ``_toc.yml`` order; every image has alt text and headings
do not skip levels; plots have an opaque background; the bibliography lists exactly the cited
works, labelled as the citations read (author-year); notebook pages link Colab and their
notebook; the Colab set-up cell is collapsed; the status page lists every notebook. What
needs a browser (fonts, search, theme, layout, axe-core) is in ``tests/test_site_browser.py``.

Outside CI a missing build skips these tests with a message; with CI=true they fail.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import site_helpers as sh

PAGES = sh.toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if p.notebook]
EQNO = re.compile(r"^\((\d+(?:\.\d+)*)\.(\d+)\)$")


@pytest.fixture(scope="module")
def static(site) -> dict:
    """The built HTML of every page of _toc.yml, parsed."""
    return {p.docname: sh.read_soup(p.html) for p in PAGES if p.html.exists()}


def _get(static: dict, docname: str):
    if docname not in static:
        pytest.fail(f"page {docname} is missing: was the site built? (see _toc.yml)")
    return static[docname]


def test_every_toc_page_was_built(site, site_stats):
    missing = [p.docname for p in PAGES if not p.html.exists()]
    assert not missing, f"pages of _toc.yml missing from {site}: {missing}"
    assert len(NOTEBOOK_PAGES) >= 1, "no notebook pages in _toc.yml"
    redirect = sh.read_soup(site / "index.html").find(
        "meta", attrs={"http-equiv": True}
    )
    assert redirect is not None, "index.html must redirect to the root page of _toc.yml"
    assert f"{PAGES[0].docname}.html" in redirect["content"], (
        "index.html must redirect to the root page of _toc.yml"
    )
    files = [p for p in site.rglob("*.html") if "_static" not in p.parts]
    site_stats["html"] = {"pages": len(PAGES), "files": len(files)}


def _formulas(document) -> list:
    return document.find_all(["span", "div"], class_="math")


def _child(tag, name: str):
    """The child element of ``tag`` with class ``name`` (find, not CSS: pages hold ~150,000
    elements, most of them KaTeX's, and soupsieve's select is slow on them)."""
    return tag.find(class_=name, recursive=False) if tag is not None else None


def test_every_formula_is_rendered_by_katex_at_build_time(static, site_stats):
    """KaTeX's HTML (for the eye) and MathML (for screen readers) in place of every formula."""
    pages_with_math, formulas = 0, 0
    for docname, document in static.items():
        found = _formulas(document)
        errors = [
            f"{e.get('title', '')}: {e.get_text()!r}"
            for e in document.find_all(class_="katex-error")
        ]
        assert not errors, f"{docname}: KaTeX could not render {errors}"
        for math in found:
            display = math.name == "div"
            katex = _child(_child(math, "katex-display") if display else math, "katex")
            assert katex is not None, (
                f"{docname}: formula not rendered: {math.get_text()[:80]!r}"
            )
            mathml = _child(katex, "katex-mathml")
            assert mathml is not None, (
                f"{docname}: formula without MathML: {katex!s:.80}"
            )
            assert mathml.find("math", recursive=False) is not None, (
                f"{docname}: formula without MathML: {katex!s:.80}"
            )
            html = _child(katex, "katex-html")
            assert html is not None, f"{docname}: formula without HTML: {katex!s:.80}"
            assert html.get("aria-hidden") == "true", (
                f"{docname}: screen readers would read the formula twice: {katex!s:.80}"
            )
        formulas += len(found)
        pages_with_math += bool(found)
    assert pages_with_math >= 1, "no formula in the book"
    site_stats["katex"] = [formulas, pages_with_math]


# Pages allowed to show TeX as text, each with the number of text pieces that hold it (none
# today: issue 19 fixed the last ones). The test fails when any other page shows TeX as text,
# and when a page on this list no longer does, so that an entry goes with its fix.
KNOWN_TEX_IN_TEXT: dict[str, int] = {}


def test_no_tex_is_left_as_text(static, site_stats):
    """Outside math, code and outputs, the pages' text holds no TeX command and no ``$``."""
    found = {docname: sh.tex_in_text(document) for docname, document in static.items()}
    for extra in ("search.html", "genindex.html"):
        found[extra] = sh.tex_in_text(sh.read_soup(sh.HTML / extra))
    new = {
        docname: snippets[:5]
        for docname, snippets in found.items()
        if snippets and docname not in KNOWN_TEX_IN_TEXT
    }
    assert not new, f"TeX left as text (a formula that did not parse): {new}"
    changed = {
        docname: f"{len(found.get(docname, []))} pieces, known {count}"
        for docname, count in KNOWN_TEX_IN_TEXT.items()
        if len(found.get(docname, [])) != count
    }
    assert not changed, (
        f"TeX left as text changed on known pages: {changed}; where it is fixed, "
        "delete the page from KNOWN_TEX_IN_TEXT in this file"
    )
    site_stats["tex_in_text"] = sum(KNOWN_TEX_IN_TEXT.values())


TEX_FIXTURE = """<html><body><main>
<p>Prose with <span class="math"><span class="katex">\\sigma(x)</span></span> and
<code>print("$5")</code>, a price in code.</p>
<pre>x = "\\alpha"</pre>
<div class="cell_output"><pre>$ cost</pre><p>\\beta in an output</p></div>
<p>the model is $\\sigma(\\mathbf{x}(\\mathbf{w}_1 - \\mathbf{w}_2)</p>
<ul><li>b_1 - b_2)$.</li></ul>
<p>A lone \\( delimiter, and a \\mathbf command in a list:</p>
<!-- a comment with $ and \\sigma is not text -->
</main></body></html>"""


def test_tex_in_text_finds_tex_outside_math_code_and_outputs():
    found = sh.tex_in_text(sh.soup(TEX_FIXTURE))
    assert len(found) == 3, found
    assert found[0].startswith("the model is $\\sigma"), found
    assert found[1] == "b_1 - b_2)$.", found
    assert "\\(" in found[2], found
    assert sh.tex_in_text(sh.soup("<p>No TeX here: 5 % of x, 3/4 of y.</p>")) == []


def test_pages_are_parsed_without_katex_layout_boxes():
    """site_helpers.read_soup leaves out the inside of span.katex-html, nothing else."""
    page = (
        '<p>a <span class="math"><span class="katex"><span class="katex-mathml"><math>'
        "<mi>x</mi></math></span>"
        '<span class="katex-html" aria-hidden="true"><span class="base"><span>x</span>'
        '</span><svg><path d=""/></svg><span>y</span></span></span></span> b</p>'
        '<span class="katex-html" aria-hidden="true"><span></span></span><span>c</span>'
    )
    assert sh.without_katex_layout(page) == (
        '<p>a <span class="math"><span class="katex"><span class="katex-mathml"><math>'
        "<mi>x</mi></math></span>"
        '<span class="katex-html" aria-hidden="true"></span></span></span> b</p>'
        '<span class="katex-html" aria-hidden="true"></span><span>c</span>'
    )
    with pytest.raises(ValueError, match="unclosed"):
        sh.without_katex_layout('<span class="katex-html" aria-hidden="true"><span>')


# KaTeX draws a formula's own colours (\color, \textcolor, \colorbox) as inline styles of its
# layout; without them every formula is drawn in the stylesheet's colours, the same on every
# page. The browser test audits KaTeX's layout with axe-core on one page only
# (test_site_browser.MOST_MATH), which stands for the others as long as this holds.
INLINE_COLOUR = re.compile(r'style="[^"]*\b(?:color|background)', re.IGNORECASE)


def test_no_formula_sets_its_own_colour(site):
    coloured = {}
    for page in PAGES:
        html = page.html.read_text(encoding="utf-8")
        for start, end in sh.katex_layout_spans(html):
            if found := INLINE_COLOUR.search(html, start, end):
                coloured[page.docname] = html[found.start() : found.start() + 60]
                break
    assert not coloured, f"formulas with their own colours: {coloured}"
    # What KaTeX writes for \color{red}{x}, \colorbox{yellow}{y}, \textcolor{blue}{z}:
    for style in (
        "color:red;",
        "margin-right:0.044em;color:blue;",
        "background-color:y",
    ):
        assert INLINE_COLOUR.search(f'<span style="{style}">')
    assert not INLINE_COLOUR.search('<span style="height:0.43em;margin-right:0.2em;">')


# Scripts and stylesheets a page must not load (see _ext/lean_pages.py, _ext/katex_math.py).
UNUSED_EVERYWHERE = (
    "mathjax",
    "/katex.min.js",
    "fontawesome.js",
    "katex-math.css",
    "sphinx-thebe",
)
SEARCH_ONLY = ("searchtools.js", "language_data.js", "searchindex.js")


def _assets(document) -> list[str]:
    return [s["src"] for s in document.find_all("script", src=True)] + [
        link["href"] for link in document.find_all("link", href=True)
    ]


def test_pages_load_only_what_they_use(site, static, site_stats):
    for docname, document in static.items():
        assets = _assets(document)
        unused = [a for a in assets if any(u in a for u in UNUSED_EVERYWHERE)]
        assert not unused, f"{docname} loads {unused}"
        search = [a for a in assets if any(u in a for u in SEARCH_ONLY)]
        assert not search, f"{docname} loads the search scripts {search}"
        katex_css = [a for a in assets if "_static/katex/katex.min.css" in a]
        formulas = len(_formulas(document))
        assert len(katex_css) == bool(formulas), (
            f"{docname}: KaTeX's stylesheet {katex_css}, formulas: {formulas}"
        )
        if not document.find(class_=re.compile(r"^sd-")):
            design = [a for a in assets if "sphinx-design" in a or "design-tabs" in a]
            assert not design, f"{docname} loads sphinx-design without using it"
    search_page = _assets(sh.read_soup(site / "search.html"))
    for script in SEARCH_ONLY:
        assert any(script in a for a in search_page), f"search.html lacks {script}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_section_number_follows_the_toc(page, static):
    title = _get(static, page.docname).select_one("article h1")
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


def test_equations_are_numbered_by_section_and_references_match(static, site_stats):
    numbers = {}  # (docname, equation id) -> "(2.1.3)"
    for page in PAGES:
        document = _get(static, page.docname)
        seen: dict[str, int] = {}
        for eqno in document.select("div.math span.eqno"):
            text = eqno.find(string=True).strip()  # without the "#" permalink
            match = EQNO.match(text)
            assert match, (
                f"{page.docname}: equation number {text!r} is not like (2.1.3)"
            )
            prefix, position = match.group(1), int(match.group(2))
            sections = [n for n in _section_numbers(eqno) if n.count(".") <= 1]
            assert sections, (
                f"{page.docname}: equation {text} is in section {sections[:1]}"
            )
            assert prefix == sections[0], (
                f"{page.docname}: equation {text} is in section {sections[:1]}"
            )
            seen[prefix] = seen.get(prefix, 0) + 1
            assert position == seen[prefix], (
                f"{page.docname}: equation {text} should be number {seen[prefix]}"
            )
            numbers[(page.docname, eqno.find_parent("div")["id"])] = text
    assert numbers, "no numbered equation in the book"
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
    site_stats["equations"] = [len(numbers), refs]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.docname)
def test_images_have_alt_text_and_headings_are_in_order(page, static, site_stats):
    document = _get(static, page.docname)
    images = document.find_all("img")
    for img in images:
        alt = (img.get("alt") or "").strip()
        src = img.get("src", "")
        assert alt, f"{page.docname}: <img src={src!r}> has no alt text"
        assert alt != src, (
            f"{page.docname}: alt text of {src!r} is a file name: {alt!r}"
        )
        assert not re.search(r"\.(svg|png|jpe?g|gif)$", alt, re.I), (
            f"{page.docname}: alt text of {src!r} is a file name: {alt!r}"
        )
        assert alt != "Figure", f"{page.docname}: {src} got no alt text of its own"
    counts = site_stats.setdefault("images", {"total": 0, "context": 0})
    counts["total"] += len(images)
    counts["context"] += len(document.select("img.alt-from-context"))

    article = document.select_one("article.bd-article")
    assert article is not None, f"{page.docname}: no <article>"
    levels = []
    for tag in article.find_all(True):
        if re.fullmatch(r"h[1-6]", tag.name):
            levels.append(int(tag.name[1]))
        elif tag.get("role") == "heading" and tag.get("aria-level"):
            levels.append(int(tag["aria-level"]))
    assert levels, (
        f"{page.docname}: the article must start with its only <h1>: levels {levels}"
    )
    assert levels[0] == 1, (
        f"{page.docname}: the article must start with its only <h1>: levels {levels}"
    )
    assert levels.count(1) == 1, (
        f"{page.docname}: the article must start with its only <h1>: levels {levels}"
    )
    jumps = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    assert not jumps, f"{page.docname}: heading levels skip: {jumps} in {levels}"
    site_stats["headings"] = site_stats.get("headings", 0) + len(levels)


MPL_BACKGROUND = re.compile(r'<g id="patch_1">\s*<path [^>]*style="([^"]*)"')


def test_plots_have_an_opaque_background(site, static, site_stats):
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
                assert style, (
                    f"{docname}: {file.name} has a transparent figure background"
                )
                assert "fill: none" not in style.group(1), (
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
    assert plots, "no plot in the book"
    site_stats["plots"] = plots


def test_every_internal_link_and_asset_resolves(site, static, site_stats):
    # Pages, not the theme's Jinja macro files that Sphinx copies into _static/ unrendered.
    files = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.parts]
    parsed = {p.html.resolve(): static[p.docname] for p in PAGES if p.docname in static}
    for path in files:  # the pages outside _toc.yml: index, search, genindex
        if path.resolve() not in parsed:
            parsed[path.resolve()] = sh.read_soup(path)
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
    site_stats["links"] = [links, fragments]


def test_status_page_shows_every_stored_run(static, site_stats):
    """One row per notebook, from its stored_run record and (under make test) the nbval report."""
    status = [p for p in PAGES if p.docname.endswith("/status")]
    assert status, "no status page in _toc.yml"
    table = _get(static, status[0].docname).find("table")
    assert table is not None, "status page has no table of stored runs"
    header = [c.get_text().strip() for c in table.select("thead th, thead td")]
    rows = {}
    for row in table.select("tbody tr"):
        cells = [c.get_text().strip() for c in row.find_all(["td", "th"])]
        link = row.find("a")
        assert link is not None, f"status row without a link to its section: {cells}"
        target = link["href"].split("#")[0].removesuffix(".html")
        rows[target] = dict(zip(header, cells, strict=False))
    report = sh.BUILD / "reports" / "nbval.xml"
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
    site_stats["status_rows"] = len(rows)


def _bibliography(static) -> dict[str, str]:
    """Entry id -> its label without brackets, e.g. {"id5": "Shannon, 1948"}."""
    bib = [p for p in PAGES if p.docname.endswith("/bibliography")]
    assert bib, "no bibliography page in _toc.yml"
    entries = _get(static, bib[0].docname).select(".citation-list > .citation")
    assert entries, "the bibliography lists nothing"
    labels = {}
    for entry in entries:
        label = entry.select_one(".label")
        assert label is not None, f"bibliography entry {entry['id']} has no label"
        labels[entry["id"]] = (
            label.get_text().strip().removeprefix("[").removesuffix("]")
        )
    return labels


def test_bibliography_lists_the_cited_works(static, site_stats):
    entry_ids = set(_bibliography(static))
    cited = set()
    for document in static.values():
        for link in document.select('a[href*="bibliography.html#"]'):
            cited.add(link["href"].rsplit("#", 1)[1])
    assert cited, "no page cites anything"
    assert cited <= entry_ids, f"citations without entry: {sorted(cited - entry_ids)}"
    assert entry_ids <= cited, f"entries nobody cites: {sorted(entry_ids - cited)}"


AUTHOR_YEAR = re.compile(r"^.+, \d{4}[a-z]?$")
TEXTUAL = re.compile(r"^(?P<who>.+?) \[(?P<years>.+)\]$")


def test_bibliography_labels_read_like_the_citations(static, site_stats):
    """An entry's label is what its citations show: [Shannon, 1948] for 'Shannon [1948]'.

    Parenthetical citations ({cite:p}) link the whole "Shannon, 1948"; textual ones
    ({cite:t}) read "Shannon [1948]" with the link on the year.
    """
    labels = _bibliography(static)
    bad_labels = {
        i: label for i, label in labels.items() if not AUTHOR_YEAR.match(label)
    }
    assert not bad_labels, f"labels are not author-year: {bad_labels}"
    assert len(set(labels.values())) == len(labels), "two entries share a label"
    checked, mismatched = 0, []
    for docname, document in static.items():
        for citation in document.select("span.bibtex-citation"):
            text = " ".join(citation.get_text().split())
            textual = TEXTUAL.match(text)
            for link in citation.select('a[href*="bibliography.html#"]'):
                shown = " ".join(link.get_text().split())
                if AUTHOR_YEAR.match(shown):
                    expected = shown
                else:
                    assert textual, f"{docname}: cannot read citation {text!r}"
                    expected = f"{textual['who']}, {shown}"
                label = labels[link["href"].rsplit("#", 1)[1]]
                if label != expected:
                    mismatched.append(f"{docname}: {text!r} links to [{label}]")
                checked += 1
    assert checked, "no citation found"
    assert not mismatched, "citations and labels disagree:\n" + "\n".join(mismatched)
    site_stats["bibliography"] = [len(labels), checked]


SETUP_CELL_MARK = "# Colab set-up"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: p.docname)
def test_setup_cell_is_collapsed(page, static, site_stats):
    """The first code cell of the page is the set-up cell, folded (``hide-input``)."""
    article = _get(static, page.docname).select_one("article")
    first = article.select_one("div.cell")
    assert first is not None, f"{page.docname}: no code cell"
    assert SETUP_CELL_MARK in first.get_text(), (
        f"{page.docname}: the first code cell is not the Colab set-up cell"
    )
    assert "tag_hide-input" in first.get("class", []), (
        f"{page.docname}: the set-up cell is not tagged hide-input"
    )
    folded = first.select_one("details.hide > div.cell_input")
    assert folded is not None, (
        f"{page.docname}: the set-up cell's code is not inside a closed <details>"
    )
    assert SETUP_CELL_MARK in folded.get_text(), (
        f"{page.docname}: the set-up cell's code is not inside a closed <details>"
    )
    assert not folded.find_parent("details").has_attr("open")
    later = [
        c for c in article.select("div.cell")[1:] if SETUP_CELL_MARK in c.get_text()
    ]
    assert not later, f"{page.docname}: {len(later)} more cells hold set-up code"
    site_stats["setup_cells"] = site_stats.get("setup_cells", 0) + 1


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: p.docname)
def test_notebook_page_links_colab_and_its_notebook(page, static, site_stats):
    """Launch -> Colab opens this notebook; the download button serves the notebook itself."""
    document = _get(static, page.docname)
    colab = [a["href"] for a in document.select("a[href*='colab.research.google.com']")]
    assert colab == [sh.colab_url(page)], (
        f"{page.docname}: Colab links {colab}, expected {sh.colab_url(page)}"
    )
    downloads = [a["href"] for a in document.select("a.btn-download-source-button")]
    assert len(downloads) == 1, f"{page.docname}: download buttons {downloads}"
    assert downloads[0].endswith(f"_sources/{page.docname}.ipynb"), downloads[0]
    served_file, _ = sh.local_target(page.html, downloads[0])
    served = json.loads(served_file.read_text(encoding="utf-8"))
    stored = json.loads(page.source.read_text(encoding="utf-8"))
    assert served["nbformat"] == stored["nbformat"] == 4
    assert [c["source"] for c in served["cells"]] == [
        c["source"] for c in stored["cells"]
    ], f"{page.docname}: the download is not the notebook in {page.source.name}"
    site_stats["buttons"] = site_stats.get("buttons", 0) + 1


def _walk(static: dict, selector: str, limit: int) -> list[str]:
    """Follow the first ``selector`` link (next or previous) from page to page."""
    seen = [PAGES[0].docname if selector == "a.right-next" else PAGES[-1].docname]
    while (link := _get(static, seen[-1]).select_one(selector)) is not None:
        assert len(seen) <= limit, f"{selector} links loop: {seen}"
        page = sh.HTML / f"{seen[-1]}.html"
        target, _ = sh.local_target(page, link["href"])
        assert target.is_file(), f"{seen[-1]}: {selector} links to {link['href']}"
        seen.append(target.relative_to(sh.HTML.resolve()).with_suffix("").as_posix())
    return seen


def test_next_and_previous_walk_the_book_in_toc_order(static, site_stats):
    expected = [p.docname for p in PAGES]
    forward = _walk(static, "a.right-next", len(expected))
    assert forward == expected, (
        f"next links walk {forward}, _toc.yml order is {expected}"
    )
    backward = _walk(static, "a.left-prev", len(expected))
    assert backward == expected[::-1], f"previous links walk {backward}"
    site_stats["navigation"] = len(forward)


KATEX_PAGE = """\
Scratch
=======

A sum :math:`\\sum_{i=1}^n x_i`, an unknown command :math:`x + \\foo`,

.. math::
   :label: good

   \\begin{aligned} a &= b \\\\ c &= d \\end{aligned}

and a formula LaTeX rejects:

.. math::

   x^
"""


def test_katex_errors_fail_the_strict_build_with_their_place(tmp_path):
    """_ext/katex_math.py on a scratch project: what KaTeX cannot render is a located
    warning (so -W fails), what it can is HTML and MathML."""
    if not (sh.ROOT / "node_modules" / "katex").is_dir():
        sh.unavailable("KaTeX is not installed: run `make book` (it runs `npm ci`)")
    source = tmp_path / "src"
    source.mkdir()
    (source / "node_modules").symlink_to(sh.ROOT / "node_modules")
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(sh.ROOT / '_ext')!r})\n"
        "extensions = ['katex_math']\nhtml_math_renderer = 'katex_strict'\n"
        "katex_prerender = True\nexclude_patterns = ['node_modules']\n",
        encoding="utf-8",
    )
    (source / "index.rst").write_text(KATEX_PAGE, encoding="utf-8")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + [str(source), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=600,  # a one-page build; generous for a loaded machine
        check=False,
    )
    assert build.returncode != 0, "the strict build passed with TeX KaTeX cannot render"
    warnings = [
        line for line in build.stderr.splitlines() if "KaTeX cannot render" in line
    ]
    assert len(warnings) == 2, build.stderr
    assert "index.rst:4" in warnings[0], warnings
    assert "Undefined control sequence: \\foo" in warnings[0], warnings
    assert "index.rst:" in warnings[1], warnings
    assert "Expected group after '^'" in warnings[1], warnings
    page = sh.read_soup(tmp_path / "html" / "index.html")
    assert len(page.find_all(class_="katex")) == 2  # the sum and the aligned equation
    assert page.find(class_="katex-mathml").find("math") is not None
    assert [e.get_text() for e in page.find_all(class_="katex-error")] == [
        "x + \\foo",
        "x^",
    ]
    assert page.select_one("div.math span.eqno").get_text().startswith("(1)")
    assert (tmp_path / "html" / "_static" / "katex" / "katex.min.css").is_file()
    # The fonts those formulas draw in, preloaded: Main for digits and "=", Math for the
    # letters, Size1 for the inline sum's sign.
    preloaded = [link["href"] for link in page.select('link[rel="preload"][as="font"]')]
    assert preloaded == [
        f"_static/katex/fonts/KaTeX_{name}.woff2"
        for name in ("Main-Regular", "Math-Italic", "Size1-Regular")
    ], preloaded
    for href in preloaded:
        assert (tmp_path / "html" / href).is_file(), href
