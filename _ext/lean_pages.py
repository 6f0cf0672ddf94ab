"""Sphinx extension: every page loads what it uses, not what the theme loads everywhere.

Measured with ``make bench-site`` (``benchmarks/bench_site.py``): a chapter page transferred
about 4 MB, most of it scripts that do nothing on this site. Left out, through Sphinx's own
means (a template on ``templates_path`` that extends the theme's, and the ``html-page-context``
event), without touching the theme's files:

1. ``fontawesome.js`` (1.5 MB), on every page: pydata-sphinx-theme draws its icons twice, once
   with the Font Awesome webfonts its stylesheet already loads and again with this script,
   which swaps each ``<i class="fa-...">`` for an SVG so that sites can add icons of their
   own. The book adds none; the webfonts draw the same icons.
2. Sphinx's search index and search scripts (about 150 KB, growing with the book), on every
   page: pydata-sphinx-theme loads them everywhere for its search-as-you-type, which is off
   (``search_as_you_type: false``, its default). The search box sends the query to
   ``search.html``, which loads them itself.
3. sphinx-design's stylesheet and script (60 KB), on pages without a sphinx-design element
   (Jupyter Book enables the extension; no page of the book uses it today).
4. sphinx-thebe's script, stylesheet and settings (7 KB), on every page: Jupyter Book loads
   them for live code cells, which this book does not offer (``launch_buttons: thebe`` is
   off: notebooks open in Colab).

Items 1 and 2 are ``templates/layout.html`` (next to this file), items 3 and 4 ``lean_page``.
``tests/test_site_html.py`` checks that no page loads them and the browser tests check that
the icons, the search and the pages still work. Registered in ``_config.yml`` under
``sphinx: local_extensions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

TEMPLATES = Path(__file__).parent / "templates"
SPHINX_DESIGN = ("sphinx-design.min.css", "design-tabs.js")
SPHINX_DESIGN_MARK = 'class="sd-'
THEBE = ("sphinx-thebe.js", "sphinx-thebe.css")
THEBE_SETTINGS = "const THEBE_JS_URL"  # sphinx-thebe's inline script


def add_templates(app: Sphinx, config: Config) -> None:
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.append(str(TEMPLATES))


def _filename(asset) -> str:
    return str(getattr(asset, "filename", asset) or "")


def _unused(asset, uses_design: bool, thebe: bool) -> bool:
    name = _filename(asset)
    if not uses_design and name.endswith(SPHINX_DESIGN):
        return True
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return not thebe and (name.endswith(THEBE) or body.startswith(THEBE_SETTINGS))


def lean_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    """Leave out sphinx-design's files where no sphinx-design element is, and sphinx-thebe's
    where thebe is off."""
    body = context.get("body")
    uses_design = isinstance(body, str) and SPHINX_DESIGN_MARK in body
    launch = app.config.html_theme_options.get("launch_buttons", {})
    thebe = bool(launch.get("thebe"))
    for key in ("css_files", "script_files"):
        if isinstance(context.get(key), list):
            # A new list: Sphinx restores its own before every page.
            context[key] = [
                asset
                for asset in context[key]
                if not _unused(asset, uses_design, thebe)
            ]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", add_templates)
    app.connect("html-page-context", lean_page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
