"""Sphinx extension: give every image of the book a text alternative.

myst-nb turns a notebook's image output (a Matplotlib figure as SVG or PNG) into an image node
without alt text, and the HTML writer then uses the file name (a SHA-256 hash) as ``alt``,
which is useless to a screen reader. This extension runs when a document has been read and gives
each image without alt text one, taken from the first of:

1. ``alt`` in the code cell's metadata (``{"alt": "..."}``), the short form for authors;
2. the caption of the figure the image sits in (``mystnb.figure.caption`` in the cell metadata,
   or a ``{figure}`` directive's caption);
3. the first sentence of the nearest paragraph before the cell, which in this course is the
   sentence that introduces the plot.

myst-nb's own ``mystnb.image.alt`` cell metadata, and ``:alt:`` of an ``{image}`` or ``{figure}``
directive, set the alt text directly and are left alone. Images that received their text from
rule 3 get the class ``alt-from-context`` so that the browser test can count them.

Registered in ``_config.yml`` under ``sphinx: local_extensions: {alt_text: _ext}``.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

CONTEXT_CLASS = "alt-from-context"
MAX_CHARS = 200


def _text(node: nodes.Node) -> str:
    """Readable text of a node: math kept as its TeX source, whitespace collapsed."""
    return re.sub(r"\s+", " ", node.astext()).strip()


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?:])(\s|$)", text)
    sentence = match.group(1) if match else text
    if len(sentence) > MAX_CHARS:
        sentence = sentence[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return sentence.rstrip(":").strip()


def _cell_container(node: nodes.Node) -> nodes.Element | None:
    parent = node.parent
    while parent is not None:
        if (
            isinstance(parent, nodes.container)
            and parent.get("nb_element") == "cell_code"
        ):
            return parent
        parent = parent.parent
    return None


def _caption(node: nodes.Node) -> str:
    parent = node.parent
    while parent is not None and not isinstance(parent, nodes.section):
        if isinstance(parent, nodes.figure):
            for child in parent.children:
                if isinstance(child, nodes.caption):
                    return _text(child)
            return ""
        parent = parent.parent
    return ""


def _preceding_paragraph(start: nodes.Node) -> str:
    """First sentence of the nearest paragraph before ``start`` within its section."""
    node = start
    while node is not None and not isinstance(node, nodes.section):
        parent = node.parent
        if parent is None:
            break
        index = parent.index(node)
        for sibling in reversed(parent.children[:index]):
            if isinstance(sibling, nodes.paragraph):
                return _first_sentence(_text(sibling))
            if isinstance(sibling, nodes.Element) and not isinstance(
                sibling, nodes.container
            ):
                paragraphs = [p for p in sibling.findall(nodes.paragraph) if _text(p)]
                if paragraphs:
                    return _first_sentence(_text(paragraphs[-1]))
        node = parent
    if isinstance(node, nodes.section) and node.children:
        return _text(node.children[0])  # the section title
    return ""


def fill_alt_text(app: Sphinx, doctree: nodes.document) -> None:
    """Give every image in ``doctree`` a non-empty alt attribute (see module docstring)."""
    for image in doctree.findall(nodes.image):
        if str(image.get("alt", "")).strip():
            continue
        cell = _cell_container(image)
        metadata: dict[str, Any] = cell.get("cell_metadata", {}) if cell else {}
        alt = str(metadata.get("alt", "")).strip()
        if not alt:
            alt = _caption(image)
        if not alt:
            alt = _preceding_paragraph(cell if cell is not None else image)
            if alt:
                image["classes"].append(CONTEXT_CLASS)
        image["alt"] = alt or "Figure"


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", fill_alt_text)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
