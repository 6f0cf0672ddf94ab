"""Sphinx extension: the site shows stored outputs, and says where they came from.

The book is built from the outputs stored in the notebooks (``execute_notebooks: "off"`` in
``_config.yml``); ``make test`` proves them by re-executing every notebook under nbval. This
extension does two things for that design:

1. **Refuses what must not be published.** Before a notebook is read, its stored outputs are
   checked: a code cell without stored outputs (never executed), or an error output in a cell
   not tagged ``raises-exception``, is a Sphinx warning, so the strict build (``-W``) fails.
2. **The execution-status page.** The directive ``{stored-runs}`` renders one row per notebook
   from the run record that ``scripts/execute_notebook.py`` (``make outputs``) stores in the
   notebook's metadata (``stored_run``: when, how long, versions, device, float path), and the
   result of the last nbval run when the build has its report (``_build/reports/nbval.xml``,
   written by ``make test``; config value ``exec_status_nbval_report``). The page holding the
   directive is re-read on every build, so it never shows stale facts.

Registered in ``_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

RECORD_KEY = "stored_run"
DEFAULT_REPORT = "_build/reports/nbval.xml"
COLUMNS = ("Section", "Stored (UTC)", "Run time", "Device", "nbval")
VERSIONS = (
    "Versions"  # a column only when the notebooks were stored in different environments
)


def _natural(docname: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", docname)]


def _path(env: BuildEnvironment, docname: str) -> Path:
    return Path(env.doc2path(docname))


def _notebooks(env: BuildEnvironment) -> list[str]:
    docs = [d for d in env.found_docs if _path(env, d).suffix == ".ipynb"]
    return sorted(docs, key=_natural)


def _load(env: BuildEnvironment, docname: str) -> dict[str, Any]:
    return json.loads(_path(env, docname).read_text(encoding="utf-8"))


def _code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]


# ------------------------------------------------------------ 1. refuse


def check_stored_outputs(
    app: Sphinx, env: BuildEnvironment, docnames: list[str]
) -> None:
    """Warn (and so fail ``-W``) on notebooks whose stored outputs must not be published."""
    for docname in docnames:
        path = _path(env, docname)
        if path.suffix != ".ipynb":
            continue
        cells = _code_cells(_load(env, docname))
        fix = f"run `make outputs NB={path.relative_to(app.srcdir)}`"
        unrun = [i for i, c in enumerate(cells) if c.get("execution_count") is None]
        if unrun:
            logger.warning(
                "code cell(s) %s have no stored outputs (never executed): %s",
                ", ".join(map(str, unrun)),
                fix,
                location=docname,
                type="exec_status",
            )
        for i, cell in enumerate(cells):
            tags = cell.get("metadata", {}).get("tags", [])
            errors = [
                o for o in cell.get("outputs", []) if o.get("output_type") == "error"
            ]
            if errors and "raises-exception" not in tags:
                logger.warning(
                    "code cell %d has a stored error (%s: %s); fix the cell and %s, or tag it "
                    "raises-exception if the error is the lesson",
                    i,
                    errors[0].get("ename"),
                    errors[0].get("evalue"),
                    fix,
                    location=docname,
                    type="exec_status",
                )


# ------------------------------------------------------ 2. status page


def nbval_results(path: Path) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The run's facts and, per notebook docname, [passed, failed, skipped] cell counts."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    facts: dict[str, Any] = {}
    counts: dict[str, list[int]] = {}
    for suite in suites:
        facts = {
            "name": suite.get("name", ""),
            "timestamp": suite.get("timestamp", "")[:19].replace("T", " "),
        }
        for case in suite.iter("testcase"):
            classname = case.get("classname", "")
            if not classname.endswith(".ipynb"):
                continue
            docname = classname[: -len(".ipynb")].replace(".", "/")
            tally = counts.setdefault(docname, [0, 0, 0])
            if case.find("failure") is not None or case.find("error") is not None:
                tally[1] += 1
            elif case.find("skipped") is not None:
                tally[2] += 1
            else:
                tally[0] += 1
    return facts, counts


def _nbval_cell(tally: list[int] | None, n_code: int) -> str:
    if tally is None:
        return "not in report"
    passed, failed, skipped = tally
    text = (
        f"{passed}/{n_code} passed"
        if not failed
        else f"{failed} FAILED, {passed} passed"
    )
    return text + (f", {skipped} skipped" if skipped else "")


def stored_before(record: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Whether the notebook's outputs were stored before the nbval run (so it checked them)."""
    stored = str(record.get("stored", "")).replace("T", " ").rstrip("Z")
    return not stored or not facts.get("timestamp") or stored <= facts["timestamp"]


def _versions(record: dict[str, Any]) -> str:
    versions = dict(record.get("versions", {}))
    first = [f"Python {versions.pop('python')}"] if "python" in versions else []
    return ", ".join(first + [f"{k} {v}" for k, v in versions.items()])


def _row(cells: list[nodes.Node | str]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        para = nodes.paragraph()
        para += nodes.Text(cell) if isinstance(cell, str) else cell
        entry += para
        row += entry
    return row


class StoredRuns(SphinxDirective):
    """``{stored-runs}``: the table of the notebooks' stored runs and their nbval results."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.env
        env.exec_status_docs = getattr(env, "exec_status_docs", set()) | {env.docname}
        report = Path(self.env.srcdir) / self.config.exec_status_nbval_report
        facts: dict[str, Any] = {}
        counts: dict[str, list[int]] = {}
        if report.is_file():
            facts, counts = nbval_results(report)
            env.note_dependency(str(report))
        intro = nodes.paragraph()
        if counts:
            intro += nodes.Text(
                f"Last nbval run in this build: {facts['timestamp']} UTC, "
                f"{sum(t[0] for t in counts.values())} cells passed and "
                f"{sum(t[1] for t in counts.values())} failed ({facts['name']})."
            )
        else:
            intro += nodes.Text(
                "This build has no nbval report (the site was built without `make test`), "
                "so the last column is empty."
            )

        docnames = _notebooks(env)
        notebooks = {d: _load(env, d) for d in docnames}
        records = {
            d: nb.get("metadata", {}).get(RECORD_KEY, {}) for d, nb in notebooks.items()
        }
        environments = {
            (_versions(r), r.get("float_path", "")) for r in records.values()
        }
        columns = list(COLUMNS)
        shared = nodes.paragraph()
        if len(environments) == 1:
            versions, path = next(iter(environments))
            shared += nodes.Text(
                f"Every notebook was stored with {versions or 'unrecorded versions'}"
                + (f", on the float path {path}." if path else ".")
            )
        else:
            columns.insert(-1, VERSIONS)

        table = nodes.table(classes=["stored-runs"])
        group = nodes.tgroup(cols=len(columns))
        table += group
        for _ in columns:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        head += _row(columns)
        group += head
        body = nodes.tbody()
        group += body
        for docname in docnames:
            nb, record = notebooks[docname], records[docname]
            link = addnodes.pending_xref(
                "",
                refdomain="std",
                reftype="doc",
                reftarget="/" + docname,
                refexplicit=False,
                refdoc=env.docname,
            )
            link += nodes.inline(text=docname)
            seconds = record.get("seconds")
            cells = [
                link,
                str(record.get("stored", "no record")).replace("T", " ").rstrip("Z"),
                f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else "",
                str(record.get("device", "")),
                _nbval_cell(counts.get(docname), len(_code_cells(nb)))
                if counts and stored_before(record, facts)
                else ("stored after the last nbval run" if counts else ""),
            ]
            if VERSIONS in columns:
                cells.insert(-1, _versions(record))
            body += _row(cells)
        return [intro, shared, table] if len(shared) else [intro, table]


def always_reread(
    app: Sphinx,
    env: BuildEnvironment,
    added: set[str],
    changed: set[str],
    removed: set[str],
) -> list[str]:
    """Re-read the status page on every build: its facts live outside its source."""
    return sorted(
        d for d in getattr(env, "exec_status_docs", set()) if d in env.found_docs
    )


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "exec_status_docs", set()).discard(docname)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("exec_status_nbval_report", DEFAULT_REPORT, "env")
    app.add_directive("stored-runs", StoredRuns)
    app.connect("env-before-read-docs", check_stored_outputs)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-purge-doc", purge)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
