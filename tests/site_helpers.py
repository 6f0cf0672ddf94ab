"""Helpers for tests/test_site.py: the book's page list, headless Chromium, HTML parsing.

Kept out of conftest.py on purpose: only the browser test imports it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"

# Flags from TOOLCHAIN.md: no network, no first-run UI, a fresh profile per run.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Virtual time runs MathJax (and the theme's scripts) to completion before the dump.
    "--virtual-time-budget=15000",
]
# Blink's preferred colour scheme: 0 is dark, 1 is light. The theme's default mode is "auto",
# so this decides light or dark; passing it for light too keeps a host setting out of the test.
COLOR_SCHEME = {"light": 1, "dark": 0}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


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


def chromium() -> str | None:
    """Path of a Chromium binary (Debian's `chromium`), or $CHROMIUM."""
    candidates = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser"]
    candidates += ["google-chrome", "google-chrome-stable"]
    for name in candidates:
        if name and (path := shutil.which(name)):
            return path
    return None


def render(
    path: Path,
    scheme: str = "light",
    screenshot: Path | None = None,
    height: int = 1600,
) -> str:
    """Load ``path`` in headless Chromium and return the DOM after its scripts ran.

    With ``screenshot``, the same run also saves a PNG of the window (1280 x ``height``
    pixels; headless Chromium photographs the top of the page only).
    """
    binary = chromium()
    assert binary, "Chromium not found (install Debian's `chromium`)"
    args = [binary, *CHROMIUM_FLAGS, f"--window-size=1280,{height}"]
    args.append(f"--blink-settings=preferredColorScheme={COLOR_SCHEME[scheme]}")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.unlink(missing_ok=True)
        args.append(f"--screenshot={screenshot}")
    args += ["--dump-dom", path.resolve().as_uri()]
    last = ""
    # One retry: a Chromium start can fail on a loaded machine.
    for _attempt in range(2):
        with tempfile.TemporaryDirectory(prefix="site-test-chromium-") as profile:
            proc = subprocess.run(
                [*args[:1], f"--user-data-dir={profile}", *args[1:]],
                capture_output=True,
                text=True,
                timeout=180,
            )
        if proc.returncode == 0 and "</html>" in proc.stdout:
            return proc.stdout
        last = f"exit {proc.returncode}; stderr tail: {proc.stderr[-2000:]}"
    raise AssertionError(f"Chromium could not render {path}: {last}")


def soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def read_soup(path: Path) -> BeautifulSoup:
    return soup(path.read_text(encoding="utf-8"))


# A URL with a scheme (http:, mailto:, data:, ...) or a host (//cdn...) is not a site file.
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def local_target(page: Path, url: str) -> tuple[Path, str] | None:
    """The file (and fragment) a relative URL in ``page`` points at; None for external URLs.

    A pure anchor ("#x") gives ``page`` itself. ``file://`` URLs (MathJax writes absolute ones
    into its font CSS) count as local.
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


def ids(document: BeautifulSoup) -> set[str]:
    found = {tag["id"] for tag in document.find_all(id=True)}
    found |= {tag["name"] for tag in document.find_all("a", attrs={"name": True})}
    return found


def text_outside_code(node) -> str:
    """Visible prose of ``node``: without scripts, styles, code, and typeset math."""
    skip = {"script", "style", "pre", "code", "textarea", "noscript", "svg", "math"}
    pieces = []
    for string in node.find_all(string=True):
        parents = {p.name for p in string.parents}
        if parents & skip or any(name.startswith("mjx-") for name in parents if name):
            continue
        pieces.append(str(string))
    return "".join(pieces)


def luminance(png: Path) -> float:
    """Mean grey level (0 black .. 255 white) of a screenshot."""
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        return ImageStat.Stat(image.convert("L")).mean[0]
