"""The built site's HTML, checked without a browser.

Runs against ``_build/html``, which ``make test`` builds (strictly) before pytest starts: every
page of ``_toc.yml`` was built and carries the section number the table of contents implies;
equations are numbered by section and every equation reference reads the number of its
target; every internal link, asset and anchor resolves; every image has alt text and headings
do not skip levels; plots have an opaque background; the bibliography lists exactly the cited
works, labelled as the citations read (author-year); the Colab set-up cell is collapsed; the
status page lists every notebook. What needs a browser (MathJax, search, theme, navigation,
layout, axe-core) is in ``tests/test_site_browser.py``.

Outside CI a missing build skips these tests with a message; with CI=true they fail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import site_helpers as sh

PAGES = sh.toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if p.notebook]
EQNO = re.compile(r"^\((\d+(?:\.\d+)*)\.(\d+)\)$")


@pytest.fixture(scope="module")
def site() -> Path:
    return sh.require_site()


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


def test_mathjax_is_vendored(static):
    pages_with_math = 0
    for docname, document in static.items():
        scripts = [s["src"] for s in document.find_all("script", src=True)]
        mathjax = [s for s in scripts if "mathjax" in s.lower()]
        if document.select(".math"):
            pages_with_math += 1
            assert mathjax, f"{docname}: math but no MathJax script"
        assert all(not sh.EXTERNAL.match(s) for s in mathjax), (
            f"{docname}: MathJax must load from the site (_vendor/), not {mathjax}"
        )
    assert pages_with_math >= 1


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


def test_every_internal_link_and_asset_resolves(site, site_stats):
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
