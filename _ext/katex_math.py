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

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import shutil
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


def lean_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    """KaTeX's stylesheet only where formulas are; sphinxcontrib-katex's own nowhere."""
    if isinstance(context.get("css_files"), list):
        body = context.get("body")
        shows_math = isinstance(body, str) and 'class="katex' in body
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


def setup(app: Sphinx) -> dict[str, Any]:
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
