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
   written by ``make test``; config value ``exec_status_nbval_report``). The directive
   ``{tested-environments}`` renders the versions the course is tested with ("tested with torch
   A.B to C.D") and one row per environment, from the record that ``make floors`` and ``make
   newest`` commit (``chapters/tested_environments.json``; config value
   ``exec_status_tested_record``). The pages holding the directives are re-read on every build,
   so they never show stale facts.

The JUnit report is read by ``course_infra`` (``scripts/course_infra.py``), the test
infrastructure shared with the tests and scripts. Registered in ``_config.yml`` under
``sphinx: local_extensions``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import course_infra

logger = logging.getLogger(__name__)

RECORD_KEY = course_infra.RECORD_KEY
DEFAULT_REPORT = "_build/reports/nbval.xml"
DEFAULT_TESTED = "chapters/tested_environments.json"
COLUMNS = ("Section", "Stored (UTC)", "Run time", "Device", "nbval")
VERSIONS = (
    "Versions"  # a column only when the notebooks were stored in different environments
)


def _path(env: BuildEnvironment, docname: str) -> Path:
    return Path(env.doc2path(docname))


def _notebooks(env: BuildEnvironment) -> list[str]:
    """The notebooks of this build, in reading order."""
    return course_infra.sort_notebooks(
        d for d in env.found_docs if course_infra.is_notebook(_path(env, d))
    )


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
    run = course_infra.read_junit(path)
    return {"name": run.name, "timestamp": run.timestamp}, course_infra.nbval_counts(
        run
    )


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


def _table(name: str, columns: list[str]) -> tuple[nodes.table, nodes.tbody]:
    """A table of class ``name`` with a header row of ``columns``, and its empty body."""
    table = nodes.table(classes=[name])
    group = nodes.tgroup(cols=len(columns))
    table += group
    for _ in columns:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    head += _row(columns)
    group += head
    body = nodes.tbody()
    group += body
    return table, body


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

        table, body = _table("stored-runs", columns)
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


def _minor(version: str) -> str:
    """``2.0.1`` -> ``2.0``; ``2.14.1+cu128`` -> ``2.14``."""
    return ".".join(version.split("+")[0].split(".")[:2])


def _span(values: list[str]) -> str:
    low, high = (
        min(values, key=course_infra.natural_key),
        max(values, key=course_infra.natural_key),
    )
    return low if low == high else f"{low} to {high}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def inline_code(text: str) -> list[nodes.Node]:
    """``text`` as nodes, its `backquoted` parts as code (a literal: no smart quotes)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backquote: keep the text as it is
        return [nodes.Text(text)]
    return [
        nodes.literal(part, part) if i % 2 else nodes.Text(part)
        for i, part in enumerate(parts)
        if part
    ]


def tested_summary(record: dict[str, Any], notebooks: list[str]) -> list[str]:
    """The sentences above the table: the tested span, what did not pass, what was not run."""
    envs = record.get("environments", {})
    if not envs:
        return [
            "No environment has been recorded yet: run `make floors` and `make newest`."
        ]
    torch = _span([_minor(e["versions"]["torch"]) for e in envs.values()])
    python = _span([_minor(e["versions"]["python"]) for e in envs.values()])
    text = [f"Tested with torch {torch} and Python {python}, in fresh environments:"]
    passing = []
    for kind, env in envs.items():
        nbs, unit = env["notebooks"], env["unit_tests"]
        label = f"{kind} (torch {env['versions']['torch']}, {env['date']})"
        if (
            nbs["passed"] == nbs["total"]
            and not unit["failed"]
            and env["import"] == "clean"
            and not env["warnings"]
        ):
            passing.append(label)
        else:
            text.append(
                f"at the {label}, {nbs['passed']} of {nbs['total']} notebooks and "
                f"{unit['passed']} of {unit['passed'] + unit['failed']} unit tests passed"
                + ("" if env["import"] == "clean" else ", and importing d2lutil warned")
                + (
                    f", and the notebooks printed {_count(len(env['warnings']), 'warning')}"
                    if env["warnings"]
                    else ""
                )
                + ";"
            )
    if passing:
        text.append(
            f"every notebook and unit test passed, without a warning, at the "
            f"{' and the '.join(passing)}."
        )
    else:
        text[-1] = text[-1].rstrip(";") + "."
    exception = envs.get("floors", {}).get("pyparsing_3_3")
    if exception:
        matplotlib = envs["floors"]["versions"]["matplotlib"]
        verdict = (
            "is silent there too, so the constraint is no longer needed"
            if exception["import d2lutil"] == "clean"
            else f"fails on matplotlib {matplotlib}'s own warning "
            f"({exception['import matplotlib.pyplot']})"
        )
        text.append(
            f"The floors environment holds pyparsing "
            f"{envs['floors']['versions'].get('pyparsing', '?')} (the constraint "
            f"pyparsing<3.3 that goes with the matplotlib floor); with pyparsing "
            f'{exception["pyparsing"]}, `python -W error -c "import d2lutil"` {verdict}.'
        )
    run = {n for e in envs.values() for n in e["notebooks"].get("run", [])}
    missing = [n for n in notebooks if n not in run]
    if missing:
        text.append(
            "Added since these runs, not run in them yet: "
            + ", ".join(n.rsplit("/", 1)[-1] for n in missing)  # short: fits a phone
            + "."
        )
    constraints = {e.get("pip_constraints") for e in envs.values()} - {"", None}
    if constraints:
        text.append(
            "Where the runs were made, a pip constraint file capped some releases: "
            + "; ".join(sorted(constraints))
            + "."
        )
    return text


# One row per fact and one column per environment: two or three columns fit a phone's width,
# where eleven columns (one per fact) would not.
TESTED_ROWS = (
    ("Date", lambda e: e["date"]),
    ("Python", lambda e: e["versions"]["python"]),
    ("torch", lambda e: e["versions"]["torch"]),
    ("numpy", lambda e: e["versions"]["numpy"]),
    ("pandas", lambda e: e["versions"]["pandas"]),
    ("matplotlib", lambda e: e["versions"]["matplotlib"]),
    (
        "Notebooks passed",
        lambda e: f"{e['notebooks']['passed']}/{e['notebooks']['total']}",
    ),
    (
        "Unit tests",
        lambda e: (
            f"{e['unit_tests']['passed']} passed, {e['unit_tests']['failed']} failed"
        ),
    ),
    ("import d2lutil (-W error)", lambda e: e["import"]),
    ("Warnings printed", lambda e: "; ".join(e["warnings"]) or "none"),
)


class TestedEnvironments(SphinxDirective):
    """``{tested-environments}``: the versions ``make floors``/``make newest`` tested."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.env
        env.exec_status_docs = getattr(env, "exec_status_docs", set()) | {env.docname}
        path = Path(env.srcdir) / self.config.exec_status_tested_record
        record: dict[str, Any] = {}
        if path.is_file():
            record = json.loads(path.read_text(encoding="utf-8"))
            env.note_dependency(str(path))
        intro = nodes.paragraph()
        intro += inline_code(" ".join(tested_summary(record, _notebooks(env))))
        envs = record.get("environments", {})
        if not envs:
            return [intro]
        columns = ["Environment", *envs]
        table, body = _table("tested-environments", columns)
        for label, value in TESTED_ROWS:
            body += _row([label, *(value(e) for e in envs.values())])
        return [intro, table]


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
    app.add_config_value("exec_status_tested_record", DEFAULT_TESTED, "env")
    app.add_directive("stored-runs", StoredRuns)
    app.add_directive("tested-environments", TestedEnvironments)
    app.connect("env-before-read-docs", check_stored_outputs)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-purge-doc", purge)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
