"""Sphinx extension: rewrite the bibliography page on every build.

sphinxcontrib-bibtex decides which works the ``{bibliography}`` directive lists only after all
pages are read, but it never marks the page holding that directive as changed. In an
incremental build (``make book`` after editing one notebook) the bibliography page then keeps
the list of the previous build: a newly cited work is missing (its citation links to an anchor
that does not exist) and a work no longer cited stays listed. Returning the page from
``env-updated`` makes Sphinx write it again with the current list; it costs one page per build.

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment


def bibliography_pages(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Docnames of the pages with a ``{bibliography}`` directive."""
    if "cite" not in env.domains:
        return []
    domain = env.get_domain("cite")
    return sorted({key.docname for key in getattr(domain, "bibliographies", {})})


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-updated", bibliography_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
