"""Sphinx extension: every formula rendered by KaTeX when the site is built, not in the browser.

sphinxcontrib-katex (``katex_prerender: true`` in ``_config.yml``) hands each ``$...$``,
``$$...$$`` and labelled equation to KaTeX running in Node and writes the result into the page:
HTML for the eye, MathML for screen readers, and the equation number in Sphinx's ``span.eqno``
as before. Pages load no math script. This extension makes that offline, pinned and strict:

1. KaTeX is the one ``package.json``/``package-lock.json`` pin, installed into
   ``node_modules/`` by ``npm ci`` (``make book`` runs it). sphinxcontrib-katex renders with
   its ``katex.min.js`` (``katex_js_path``), and its stylesheet and fonts are copied into the
   site (``_static/katex/``) instead of being fetched from a CDN. Without ``node_modules/katex``
   the build stops and says what to run.
2. KaTeX renders strictly (``throwOnError``, ``strict: "error"``): TeX it cannot render
   (an unknown command, a missing brace) or that LaTeX would reject (Unicode letters in math
   mode) becomes a Sphinx warning with the file, the line and KaTeX's message, so the strict
   build (``-W``) fails, instead of red source text on the page. The renderer registered for
   that, ``katex_strict`` (``html_math_renderer`` in ``_config.yml``), is sphinxcontrib-katex's
   own, with each error caught where Sphinx knows the formula's place.
3. Only pages that show math link KaTeX's stylesheet. sphinxcontrib-katex's own small
   stylesheet (``katex-math.css``) is left out everywhere: it lays out equation numbers and
   wide formulas differently from the theme, which ``_static/accessibility.css`` and
   ``_static/fit_math.js`` build on.
4. Each page with math preloads the KaTeX fonts its formulas use (``<link rel="preload">``
   at the top of its head), read off the page's KaTeX markup with KaTeX's own stylesheet
   (which class draws in which font). A font is otherwise asked for only when the first
   formula that needs it is laid out, and that formula is drawn blank until the font arrives
   (KaTeX's ``font-display: block``): preloaded, the fonts come with the stylesheets, before
   any formula is painted. ``tests/test_site_browser.py`` checks that each page preloads
   exactly the math fonts it uses.

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import functools
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinxcontrib import katex

logger = logging.getLogger(__name__)

DIST = Path("node_modules") / "katex" / "dist"  # relative to the book's folder
STATIC = "katex"  # the stylesheet and fonts go to _static/katex/
STYLESHEET = f"{STATIC}/katex.min.css"
# KaTeX's options for every formula (https://katex.org/docs/options).
OPTIONS = {"throwOnError": True, "strict": "error"}


def katex_dist(app: Sphinx) -> Path:
    return Path(app.confdir) / DIST


# Which KaTeX font draws what, read from KaTeX's stylesheet: its @font-face rules (family,
# weight, style -> file) and the rules ``.katex .a`` / ``.katex .a.b`` that set a font.
FONT_FACE = re.compile(r"@font-face\{([^}]*)\}")
RULE = re.compile(r"([^{}@]+)\{([^{}]*)\}")
PROPERTY = re.compile(r"(font-family|font-weight|font-style):([^;}]+)")
WOFF2 = re.compile(r"url\(([^)]+\.woff2)\)")
KATEX_FONT = re.compile(r"KaTeX_\w+")
BASE_FONT = ("KaTeX_Main", "400", "normal")  # .katex{font: ... KaTeX_Main ...}
# The boxes KaTeX lays out for the eye.
LAYOUT = re.compile(r'<span class="katex-html" aria-hidden="true">')
# Its tokens: a span's start tag (group 1: its attributes), an end tag, another tag (an SVG's),
# text (group 2).
TOKEN = re.compile(r"<span\b([^>]*)>|</span>|<[^>]*>|([^<]+)")
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
FONT_KEYS = ("font-family", "font-weight", "font-style")
# A compound selector of a KaTeX font rule: an optional child combinator, ``span`` or nothing,
# classes.
COMPOUND = re.compile(r"\s*(>)?\s*(span)?((?:\.[\w-]+)*)")
COMPOUNDS = r"(?:\s*>?\s*(?:span(?:\.[\w-]+)*|(?:\.[\w-]+)+))+"
WEIGHTS = {"bold": "700", "normal": "400"}


def _properties(body: str) -> dict[str, str]:
    found = {name: value.strip().strip("'\"") for name, value in PROPERTY.findall(body)}
    if "font-weight" in found:
        found["font-weight"] = WEIGHTS.get(found["font-weight"], found["font-weight"])
    return found


def _compounds(selector: str) -> tuple | None:
    """A selector ``.katex A B>span`` as its compounds after ``.katex``, ((classes, child of
    the one before?), ...), or None where it is not of that form (spans and classes only)."""
    selector = selector.strip()
    if not selector.startswith(".katex "):
        return None
    rest = selector.removeprefix(".katex ")
    if not re.fullmatch(COMPOUNDS, rest):
        return None
    return tuple(
        (frozenset(c for c in classes.split(".") if c), bool(child))
        for child, tag, classes in COMPOUND.findall(rest)
        if tag or classes
    )


def _matches(compounds: tuple, chain: list[frozenset]) -> bool:
    """Whether the last span of ``chain`` (its ancestors' classes before it) matches."""

    def match(i: int, j: int) -> bool:
        classes, child = compounds[i]
        if j < 0 or not classes <= chain[j]:
            return False
        if i == 0:
            return True
        if child:
            return match(i - 1, j - 1)
        return any(match(i - 1, k) for k in range(j - 1, -1, -1))

    return match(len(compounds) - 1, len(chain) - 1)


def font_map(stylesheet: str) -> tuple[dict, list]:
    """KaTeX's fonts, {(family, weight, style): woff2 path}, and its font rules, [(classes
    that must be on one element, {property: value})]."""
    faces = {}
    for body in FONT_FACE.findall(stylesheet):
        found = _properties(body)
        woff2 = WOFF2.search(body)
        if woff2 and "font-family" in found:
            key = (
                found["font-family"],
                found.get("font-weight", "400"),
                found.get("font-style", "normal"),
            )
            faces[key] = woff2.group(1)
    rules = []
    for selectors, body in RULE.findall(FONT_FACE.sub("", stylesheet)):
        found = _properties(body)
        if not found:
            continue
        for selector in selectors.split(","):
            compounds = _compounds(selector)
            if compounds:
                rules.append((compounds, found))
    return faces, rules


def fonts_used(body: str, rules: list) -> set[tuple[str, str, str]]:
    """The KaTeX fonts (family, weight, style) that the formulas of a page's HTML draw in: the
    font of each piece of text in KaTeX's layout, as CSS gives it: inherited from the enclosing
    element, changed by the rules that the element's own classes match (a stacked delimiter's
    pieces, say, are class-less spans in a ``delim-size4`` one)."""
    used = set()
    base = dict(zip(FONT_KEYS, BASE_FONT, strict=True))
    for box in LAYOUT.finditer(body):
        stack = [base]
        chain: list[frozenset] = []  # the classes of the open spans, outermost first
        used.add(BASE_FONT)  # .katex's own font, for its lines' metrics
        for token in TOKEN.finditer(body, box.end()):
            attributes, text = token.group(1), token.group(2)
            if (
                attributes is not None
            ):  # <span ...>: its parent's font, less its own rules
                font = dict(stack[-1])
                found = CLASS_ATTRIBUTE.search(attributes)
                chain.append(
                    frozenset(found.group(1).split()) if found else frozenset()
                )
                for compounds, properties in rules:
                    if _matches(compounds, chain):
                        font.update(properties)
                stack.append(font)
            elif token.group() == "</span>":
                stack.pop()
                if chain:
                    chain.pop()
                if not stack:  # the end of the layout box
                    break
            elif text is not None and text.strip(" \t\n"):
                font = stack[-1]
                used.add(tuple(font[key] for key in FONT_KEYS))
    return used


def configure(app: Sphinx, config: Config) -> None:
    """Render with the KaTeX of node_modules/, strictly; link its stylesheet from _static/."""
    script = katex_dist(app) / "katex.min.js"
    if not script.is_file():
        raise ExtensionError(
            f"KaTeX is not installed ({script} is missing): run `npm ci` in "
            f"{app.confdir} (`make book` does), which installs the version that "
            "package-lock.json pins"
        )
    config.katex_js_path = str(script)
    config.katex_css_path = STYLESHEET
    katex.KATEX_DEFAULT_OPTIONS.update(OPTIONS)


def _located(visit):
    """sphinxcontrib-katex's visitor, with KaTeX's errors reported where the formula is."""

    def visitor(self, node: nodes.Element) -> None:
        start = len(self.body)
        try:
            visit(self, node)
        except katex.KaTeXError as error:
            del self.body[start:]  # the visitor's half-written element
            logger.warning(
                "KaTeX cannot render %r: %s",
                node.astext(),
                error,
                location=node,
                type="katex",
                subtype="error",
            )
            self.body.append(
                self.starttag(node, "span", "", CLASS="math katex-error")
                + self.encode(node.astext())
                + "</span>"
            )
            raise nodes.SkipNode from None

    return visitor


@functools.cache
def _fonts(dist: Path) -> tuple[dict, list]:
    return font_map((dist / "katex.min.css").read_text(encoding="utf-8"))


def preload_links(app: Sphinx, body: str, pathto) -> str:
    """``<link rel="preload">`` for each KaTeX font the page's formulas draw in."""
    faces, rules = _fonts(katex_dist(app))
    links = []
    for font in sorted(fonts_used(body, rules)):
        if font in faces:
            href = pathto(f"_static/{STATIC}/{faces[font]}", 1)
            links.append(
                f'<link rel="preload" href="{href}" as="font" type="font/woff2" '
                "crossorigin />"
            )
    return "\n    ".join([""] + links)


def lean_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    """KaTeX's stylesheet only where formulas are, and their fonts preloaded;
    sphinxcontrib-katex's own stylesheet nowhere."""
    body = context.get("body")
    shows_math = isinstance(body, str) and 'class="katex' in body
    if shows_math and "pathto" in context:
        context["metatags"] = context.get("metatags", "") + preload_links(
            app, body, context["pathto"]
        )
    if isinstance(context.get("css_files"), list):
        unused = {katex.filename_css} | (set() if shows_math else {STYLESHEET})
        unused = {f"_static/{name}" for name in unused}  # as Sphinx records them
        # A new list: Sphinx restores its own before every page.
        context["css_files"] = [
            css
            for css in context["css_files"]
            if str(getattr(css, "filename", css) or "") not in unused
        ]


def copy_assets(app: Sphinx, exception: Exception | None) -> None:
    """KaTeX's stylesheet and every font it names, into _static/katex/ of the built site."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / STATIC
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(katex_dist(app) / "katex.min.css", target / "katex.min.css")
    shutil.copytree(katex_dist(app) / "fonts", target / "fonts", dirs_exist_ok=True)


# sphinxcontrib-katex (0.9.11) starts its KaTeX server in Node and connects to it through a Unix
# socket as soon as the socket's file exists; Node creates the file (bind) a moment before it
# listens, so on a busy machine the connection can be refused and the build fails
# ("ConnectionRefusedError" in start_server_process). The same start, but connecting again
# until the server listens, within a startup time that a loaded machine allows.
STARTUP_S = 60.0


def _start_server_process(cls, rundir: Path, timeout: float):
    socket_path = rundir / "katex.sock"
    process = subprocess.Popen(
        cls.build_command(socket=socket_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=rundir,
    )
    deadline = time.monotonic() + max(timeout, STARTUP_S)
    while True:
        if time.monotonic() > deadline:
            process.kill()
            raise cls.timeout_error(max(timeout, STARTUP_S))
        if process.poll() is not None:
            raise ExtensionError(
                f"the KaTeX server stopped at start ({process.returncode})"
            )
        if socket_path.is_socket():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock.connect(str(socket_path))
                sock.settimeout(None)
                return process, sock
            except (ConnectionRefusedError, FileNotFoundError):
                sock.close()
        time.sleep(0.01)


def setup(app: Sphinx) -> dict[str, Any]:
    katex.KaTeXServer.start_server_process = classmethod(_start_server_process)
    app.setup_extension("sphinxcontrib.katex")
    app.add_html_math_renderer(
        "katex_strict",
        inline_renderers=(_located(katex.html_visit_math), None),
        block_renderers=(_located(katex.html_visit_displaymath), None),
    )
    app.connect("config-inited", configure)
    app.connect("html-page-context", lean_page)
    app.connect("build-finished", copy_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
