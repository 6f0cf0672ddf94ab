"""Helpers for the tests of the built site (tests/test_site_html.py, tests/test_site_browser.py).

The book's page list in reading order, HTML parsing, where Chromium is, a local web server for
``_build/html``, and colour arithmetic (WCAG contrast). Nothing here starts a browser by itself.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"
REPORTS = BUILD / "reports"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip a test that lacks the built site or a browser; under CI=true, fail it."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


def require_site() -> Path:
    if not (HTML / "index.html").exists():
        unavailable(
            f"no built site at {HTML}: run `make test` (it builds the site first) "
            "or `make book`, then this test"
        )
    return HTML.resolve()


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Page:
    """One page of the table of contents."""

    docname: str  # e.g. chapters/02_preliminaries/2_1_data_manipulation
    number: str  # expected section number, e.g. "2.1", or "" for an unnumbered page
    notebook: bool  # the source is an .ipynb (gets Colab and .ipynb download buttons)

    @property
    def html(self) -> Path:
        return HTML / f"{self.docname}.html"

    @property
    def source(self) -> Path:
        return ROOT / f"{self.docname}{'.ipynb' if self.notebook else '.md'}"

    @property
    def url_path(self) -> str:
        return f"{self.docname}.html"

    @property
    def slug(self) -> str:
        return self.docname.replace("chapters/", "").replace("/", "-")


def toc_pages() -> list[Page]:
    """Every page of _toc.yml in reading order, with the section number Sphinx should give it.

    Numbered parts are numbered continuously across the book (Jupyter Book's multitoc
    numbering): the first chapter of the first numbered part is 1, its sections 1.1, 1.2, ...
    """
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))

    def page(docname: str, number: str) -> Page:
        return Page(docname, number, (ROOT / f"{docname}.ipynb").exists())

    pages = [page(toc["root"], "")]
    chapter = 0
    parts = toc.get("parts") or [{"chapters": toc.get("chapters", [])}]
    for part in parts:
        numbered = bool(part.get("numbered"))
        for entry in part.get("chapters", []):
            if numbered:
                chapter += 1
            pages.append(page(entry["file"], str(chapter) if numbered else ""))
            for index, section in enumerate(entry.get("sections", []), start=1):
                number = f"{chapter}.{index}" if numbered else ""
                pages.append(page(section["file"], number))
    return pages


def colab_url(page: Page) -> str:
    repo = config()["repository"]
    github = repo["url"].rstrip("/").removeprefix("https://github.com/")
    branch = repo.get("branch", "main")
    return f"https://colab.research.google.com/github/{github}/blob/{branch}/{page.docname}.ipynb"


# Chromium ----------------------------------------------------------------------------------

# One finder for the browser tests and scripts/ensure_test_deps.py: $CHROMIUM, a known install
# location, one on PATH, else Playwright's own (scripts/course_infra.py).
from course_infra import chromium_executable, playwright_chromium  # noqa: E402, F401

# A web server for the built site -----------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".ipynb": "application/x-ipynb+json",
    }

    def log_message(self, format, *args):
        pass


@contextmanager
def serve(directory: Path, handler_class: type = _QuietHandler) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port); yields the base URL, ending in '/'."""
    handler = functools.partial(handler_class, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# HTML ----------------------------------------------------------------------------------------


def soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def read_soup(path: Path) -> BeautifulSoup:
    """A built page, parsed, without the inside of KaTeX's layout boxes (see below)."""
    return soup(without_katex_layout(path.read_text(encoding="utf-8")))


# KaTeX writes each formula twice: MathML (for screen readers and the formula's TeX) and
# ``span.katex-html``, a tree of positioned boxes for the eye (aria-hidden) that makes up most
# of a page's elements. No check of the HTML reads inside it (the browser test checks it is
# drawn), and leaving it out halves the time to parse the site.
KATEX_LAYOUT = re.compile(r'<span class="katex-html" aria-hidden="true">')
SPAN_TAG = re.compile(r"<span\b|</span>")


def katex_layout_spans(html: str) -> Iterator[tuple[int, int]]:
    """Where the inside of each ``span.katex-html`` of ``html`` starts and ends."""
    for box in KATEX_LAYOUT.finditer(html):
        depth = 1
        for tag in SPAN_TAG.finditer(html, box.end()):
            depth += 1 if tag.group() == "<span" else -1
            if depth == 0:
                break
        else:
            raise ValueError(f"unclosed span.katex-html at {box.start()}")
        yield box.end(), tag.start()


def without_katex_layout(html: str) -> str:
    """``html`` with every ``span.katex-html`` emptied (the element itself stays)."""
    kept, position = [], 0
    for start, end in katex_layout_spans(html):
        kept.append(html[position:start])
        position = end
    kept.append(html[position:])
    return "".join(kept)


# A URL with a scheme (http:, mailto:, data:, ...) or a host (//cdn...) is not a site file.
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def local_target(page: Path, url: str) -> tuple[Path, str] | None:
    """The file (and fragment) a relative URL in ``page`` points at; None for external URLs.

    A pure anchor ("#x") gives ``page`` itself. ``file://`` URLs count as local.
    """
    url = url.strip()
    if url.startswith("file://"):
        parts = urlsplit(url)
        return Path(unquote(parts.path)), unquote(parts.fragment)
    if not url or EXTERNAL.match(url):
        return None
    parts = urlsplit(url)
    if not parts.path:
        return page.resolve(), unquote(parts.fragment)
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def css_urls(css: str) -> list[str]:
    return [m.group(2) for m in CSS_URL.finditer(css)]


# TeX left in the text of a page: a command (\sigma), a math delimiter (\( \) \[ \]) or a
# dollar sign. In prose, outside math, code and outputs, each means a formula that was not
# parsed as one (a "$" left over, a line of inline math that became a list item, ...).
TEX_IN_TEXT = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$")
NOT_PROSE_TAGS = frozenset(
    {
        "script",
        "style",
        "pre",
        "code",
        "kbd",
        "samp",
        "tt",
        "textarea",
        "math",
        "noscript",
    }
)
NOT_PROSE_CLASSES = frozenset({"math", "katex", "highlight", "cell_output", "output"})


def tex_in_text(document: BeautifulSoup) -> list[str]:
    """The pieces of a page's text, outside math, code and outputs, that hold TeX.

    One snippet (the text around the first match) per text node: a formula broken over
    a paragraph and a list item gives one snippet for each.
    """
    from bs4 import NavigableString

    found = []
    for node in (document.body or document).find_all(string=True):
        if type(node) is not NavigableString:  # comments, doctype, CDATA
            continue
        match = TEX_IN_TEXT.search(node)
        if match is None:
            continue
        if any(
            parent.name in NOT_PROSE_TAGS
            or NOT_PROSE_CLASSES.intersection(parent.get("class") or ())
            for parent in node.parents
        ):
            continue
        snippet = node[max(0, match.start() - 40) : match.end() + 40]
        found.append(" ".join(snippet.split()))
    return found


def ids(document: BeautifulSoup) -> set[str]:
    found = {tag["id"] for tag in document.find_all(id=True)}
    found |= {tag["name"] for tag in document.find_all("a", attrs={"name": True})}
    return found


# Colour ----------------------------------------------------------------------------------------


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour given as 0..255 channels."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG contrast ratio (1 .. 21) of two opaque sRGB colours."""
    a, b = sorted((relative_luminance(fg[:3]), relative_luminance(bg[:3])))
    return (b + 0.05) / (a + 0.05)


def luminance(png: Path) -> float:
    """Mean grey level (0 black .. 255 white) of a screenshot."""
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        return ImageStat.Stat(image.convert("L")).mean[0]


def image_contrast(png: bytes) -> float:
    """Contrast ratio between the ink and the paper of a picture (e.g. a plot's labels).

    Ink is the 1st percentile of grey levels, paper the 99th (robust to antialiasing).
    """
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        histogram = image.convert("L").histogram()
    total = sum(histogram)

    def percentile(q: float) -> int:
        seen = 0
        for level, count in enumerate(histogram):
            seen += count
            if seen >= q * total:
                return level
        return 255

    ink, paper = percentile(0.01), percentile(0.99)
    return contrast_ratio((ink, ink, ink), (paper, paper, paper))
