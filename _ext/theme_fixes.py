"""Sphinx extension: fixes to the theme's HTML found by the browser tests (tests/test_site_browser.py).

1. The sidebar's expand/collapse toggles. pydata-sphinx-theme wraps every chapter with sections
   in ``<details>`` whose ``<summary>`` holds only a decorative chevron, so a screen reader
   announces a nameless button on every page (axe rule ``summary-name``, impact serious). Each
   such summary gets ``aria-label="Sections of <chapter title>"``.
2. The bibliography. docutils marks the entries ``role="doc-biblioentry"`` inside
   ``role="list"``: that role is deprecated (DPUB-ARIA 1.1) and a list needs ``listitem``
   children (axe ``aria-required-children``, critical). Entries become ``role="listitem"``.
3. sphinx-thebe's inline configuration script is added to every page twice, and the second
   ``const THEBE_JS_URL = ...`` raises "Identifier 'THEBE_JS_URL' has already been declared"
   on every page load. Script tags that are exactly the same (file, body and attributes) are
   written once.

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import functools
from typing import Any

from bs4 import BeautifulSoup
from sphinx.application import Sphinx

BIBLIOENTRY = 'role="doc-biblioentry"'


def name_toggles(soup: BeautifulSoup) -> BeautifulSoup:
    """Give every nameless ``<summary>`` of a sidebar table of contents an aria-label."""
    for summary in soup.select("details > summary"):
        if summary.get("aria-label") or summary.get_text(strip=True):
            continue
        item = summary.find_parent("li")
        link = item.find("a", recursive=False) if item is not None else None
        title = " ".join(link.get_text(" ", strip=True).split()) if link else ""
        summary["aria-label"] = f"Sections of {title}" if title else "Sections"
    return soup


def _named(generate):
    @functools.wraps(generate)
    def wrapper(*args, **kwargs):
        result = generate(*args, **kwargs)
        if isinstance(result, BeautifulSoup):
            return name_toggles(result)
        if isinstance(result, str) and "<summary" in result:
            return str(name_toggles(BeautifulSoup(result, "html.parser")))
        return result

    return wrapper


def unique_scripts(scripts: list) -> list:
    """``scripts`` without repeats of the same tag (same file, priority and attributes)."""
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (
            str(getattr(script, "filename", script) or ""),  # None and "" alike
            getattr(script, "priority", None),
            tuple(sorted((k, str(v)) for k, v in attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def fix_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    if isinstance(context.get("script_files"), list):
        # A new list: Sphinx restores its own list before every page.
        context["script_files"] = unique_scripts(context["script_files"])
    if "generate_toctree_html" in context:
        context["generate_toctree_html"] = _named(context["generate_toctree_html"])
    body = context.get("body")
    if isinstance(body, str) and BIBLIOENTRY in body:
        context["body"] = body.replace(BIBLIOENTRY, 'role="listitem"')


def setup(app: Sphinx) -> dict[str, Any]:
    # After pydata-sphinx-theme's handler (priority 500) has put generate_toctree_html there.
    app.connect("html-page-context", fix_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
