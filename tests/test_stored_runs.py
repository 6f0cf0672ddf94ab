"""Stored runs and the site built from them (scripts/execute_notebook.py, _ext/exec_status.py).

The site shows the outputs stored in the notebooks, so (1) every notebook must carry the record
of the run that stored them, which the execution-status page shows, and (2) the build must
refuse a notebook that was not run or that stored an error, and keep refusing when repeated
(``make book`` removes the saved Sphinx environment after a failed build), and (3) the status
page shows the environments ``make floors``/``make newest`` recorded.

The scratch books are built with the Makefile's real recipe, ``make build-book``, in this test
run's own environment: no set-up step (venv install) runs inside a test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import course_infra
import nbformat
import pytest

ROOT = course_infra.ROOT
sys.path.insert(0, str(ROOT / "_ext"))

import exec_status  # noqa: E402
import execute_notebook  # noqa: E402

NOTEBOOKS = course_infra.notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_records_its_stored_run(path):
    record = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("stored_run")
    assert record, (
        f"{path.name}: no stored_run record; store it with `make outputs NB=...`"
    )
    stored = dt.datetime.strptime(record["stored"], "%Y-%m-%dT%H:%M:%SZ")
    assert dt.datetime(2026, 1, 1) < stored < dt.datetime.now() + dt.timedelta(days=1)
    assert 0 < record["seconds"] < 600
    assert set(record["versions"]) == {"python", *execute_notebook.LIBRARIES}
    assert record["device"] == "cpu" or record["device"].startswith(("cuda", "mps"))
    # The stored run is the native path: no variable that perturbs the float path was set.
    assert not any(
        var in record["float_path"] for var in execute_notebook.FLOAT_PATH_VARS
    )


def test_run_record_names_this_environment(monkeypatch):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    record = execute_notebook.run_record(1.234)
    assert record["seconds"] == 1.2
    assert record["versions"]["torch"] == __import__("torch").__version__
    assert record["float_path"].endswith("ATEN_CPU_CAPABILITY=default")


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="make test, MKL_CBWR=COMPATIBLE" timestamp="2026-12-01T10:00:00.1+00:00">
<testcase classname="tests.test_data" name="test_x"/>
<testcase classname="chapters.02_x.2_1_a.ipynb" name="Cell 0"/>
<testcase classname="chapters.02_x.2_1_a.ipynb" name="Cell 1"><failure message="x"/></testcase>
<testcase classname="chapters.02_x.2_1_a.ipynb" name="Cell 2"><skipped/></testcase>
<testcase classname="chapters.03_y.3_1_b.ipynb" name="Cell 0"/>
</testsuite></testsuites>
"""


def test_nbval_report_is_counted_per_notebook(tmp_path):
    report = tmp_path / "nbval.xml"
    report.write_text(JUNIT, encoding="utf-8")
    facts, counts = exec_status.nbval_results(report)
    assert facts == {
        "name": "make test, MKL_CBWR=COMPATIBLE",
        "timestamp": "2026-12-01 10:00:00",
    }
    assert counts == {
        "chapters/02_x/2_1_a": [1, 1, 1],
        "chapters/03_y/3_1_b": [1, 0, 0],
    }
    assert exec_status._nbval_cell(counts["chapters/03_y/3_1_b"], 1) == "1/1 passed"
    assert (
        exec_status._nbval_cell(counts["chapters/02_x/2_1_a"], 3)
        == "1 FAILED, 1 passed, 1 skipped"
    )


def test_a_notebook_stored_after_the_report_is_not_credited_with_it():
    facts = {"timestamp": "2026-12-01 10:00:00"}
    assert exec_status.stored_before({"stored": "2026-12-01T09:59:59Z"}, facts)
    assert not exec_status.stored_before({"stored": "2026-12-01T10:00:01Z"}, facts)


# ------------------------------------------------------------------ scratch book


def notebook(path: Path, *, run: bool = True, error: bool = False, tags=()) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["stored_run"] = execute_notebook.run_record(0.5)
    nb.metadata["stored_run"]["stored"] = (
        "2026-11-30T12:00:00Z"  # before the report below
    )
    nb.cells.append(nbformat.v4.new_markdown_cell("# A section\n\nSome text."))
    cell = nbformat.v4.new_code_cell("print(1 + 1)", metadata={"tags": list(tags)})
    if run:
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    if error:
        cell.outputs = [
            nbformat.v4.new_output(
                "error", ename="RuntimeError", evalue="boom", traceback=[]
            )
        ]
    nb.cells.append(cell)
    nbformat.write(nb, path)


@pytest.fixture
def book(tmp_path):
    (tmp_path / "_config.yml").write_text(
        textwrap.dedent(
            f"""\
            title: scratch
            only_build_toc_files: true
            execute:
              execute_notebooks: "off"
            sphinx:
              local_extensions:
                exec_status: {ROOT / "_ext"}
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: status\n  - file: sec\n",
        encoding="utf-8",
    )
    (tmp_path / "intro.md").write_text("# Scratch\n", encoding="utf-8")
    (tmp_path / "status.md").write_text(
        "# Status\n\n```{stored-runs}\n```\n\n## Tested\n\n```{tested-environments}\n```\n",
        encoding="utf-8",
    )
    return tmp_path


def make_book(book: Path) -> subprocess.CompletedProcess:
    """The real recipe of `make book` (`make build-book`), on the scratch book, with this
    environment's jupyter-book: no prerequisite, so no venv is set up inside a test."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    }
    command = ["make", "--no-print-directory", "-C", str(ROOT), "build-book"]
    command += [f"BOOK={book}", f"BOOK_BIN={Path(sys.executable).parent}"]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_failed_build_fails_again_and_publishes_nothing(book):
    notebook(book / "sec.ipynb", run=False)
    first = make_book(book)
    assert first.returncode != 0
    assert "have no stored outputs (never executed)" in first.stderr + first.stdout
    assert not (book / "_build" / "html").exists()
    second = make_book(book)  # unchanged: Sphinx must not reuse the failed environment
    assert second.returncode != 0
    assert not (book / "_build" / "html").exists()

    notebook(book / "sec.ipynb", run=True, error=True)
    third = make_book(book)
    assert third.returncode != 0
    assert "has a stored error (RuntimeError: boom)" in third.stderr + third.stdout

    notebook(book / "sec.ipynb", run=True, error=True, tags=["raises-exception"])
    assert make_book(book).returncode == 0


def environment(torch: str, passed: int, *, unit_failed: int = 0, run=("sec",)) -> dict:
    """An entry of chapters/tested_environments.json as scripts/check_versions.py writes it."""
    return {
        "date": "2026-12-05",
        "versions": {
            "python": "3.11.7",
            "torch": torch,
            "numpy": "1.23.5",
            "pandas": "2.3.3",
            "matplotlib": "3.9.0",
            "pyparsing": "3.2.5",
        },
        "pip_constraints": "",
        "import": "clean",
        "notebooks": {"passed": passed, "total": len(run), "run": list(run)},
        "unit_tests": {"passed": 150, "failed": unit_failed, "skipped": 0},
        "warnings": [],
    }


def test_tested_summary_states_the_span_and_what_did_not_pass():
    record = {
        "environments": {
            "floors": environment("2.0.0", 0, unit_failed=3),
            "newest": environment("2.14.1", 1),
        }
    }
    text = " ".join(exec_status.tested_summary(record, ["sec", "new"]))
    assert text.startswith("Tested with torch 2.0 to 2.14 and Python 3.11, ")
    assert (
        "at the floors (torch 2.0.0, 2026-12-05), 0 of 1 notebooks and 150 of 153"
        in text
    )
    assert (
        "passed, without a warning, at the newest (torch 2.14.1, 2026-12-05)." in text
    )
    assert "Added since these runs, not run in them yet: new." in text
    assert "pip constraint" not in text
    assert "warning" not in text.replace("without a warning", "")
    record["environments"]["floors"]["warnings"] = ["UserWarning: x", "UserWarning: y"]
    text = " ".join(exec_status.tested_summary(record, ["sec"]))
    assert "unit tests passed, and the notebooks printed 2 warnings;" in text

    record["environments"]["floors"] = environment("2.0.0", 1)
    record["environments"]["newest"]["pip_constraints"] = "torch<=2.14.1"
    text = " ".join(exec_status.tested_summary(record, ["sec"]))
    assert (
        "passed, without a warning, at the floors (torch 2.0.0, 2026-12-05) and the"
        in text
    )
    assert "not run" not in text
    assert "capped some releases: torch<=2.14.1." in text
    record["environments"]["floors"]["pyparsing_3_3"] = {
        "pyparsing": "3.3.3",
        "import d2lutil": "PyparsingDeprecationWarning: 'parseString' deprecated",
        "import matplotlib.pyplot": "PyparsingDeprecationWarning: 'parseString' deprecated",
    }
    text = " ".join(exec_status.tested_summary(record, ["sec"]))
    assert (
        "The floors environment holds pyparsing 3.2.5 (the constraint pyparsing<3.3 that "
        "goes with the matplotlib floor); with pyparsing 3.3.3, `python -W error -c "
        '"import d2lutil"` fails on matplotlib 3.9.0\'s own warning '
        "(PyparsingDeprecationWarning: 'parseString' deprecated)."
    ) in text
    assert exec_status.tested_summary({}, ["sec"]) == [
        "No environment has been recorded yet: run `make floors` and `make newest`."
    ]


def test_backquoted_parts_of_the_summary_become_code():
    nodes = exec_status.inline_code('run `make floors`, then `python -c "x"`.')
    assert [(type(n).__name__, n.astext()) for n in nodes] == [
        ("Text", "run "),
        ("literal", "make floors"),
        ("Text", ", then "),
        ("literal", 'python -c "x"'),
        ("Text", "."),
    ]
    (text,) = exec_status.inline_code("an unpaired ` stays text")
    assert text.astext() == "an unpaired ` stays text"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_status_page_shows_records_and_the_nbval_report(book):
    notebook(book / "sec.ipynb")
    assert make_book(book).returncode == 0
    page = (book / "_build" / "html" / "status.html").read_text(encoding="utf-8")
    assert "This build has no nbval report" in page
    assert "torch " in page
    assert "Stored (UTC)" in page
    assert "sec.html" in page
    assert "No environment has been recorded yet" in page
    assert (
        '<span class="pre">make</span> <span class="pre">floors</span></code>' in page
    )

    reports = book / "_build" / "reports"
    reports.mkdir(parents=True)
    (reports / "nbval.xml").write_text(
        JUNIT.replace("chapters.02_x.2_1_a.ipynb", "sec.ipynb"), encoding="utf-8"
    )
    (book / "chapters").mkdir()
    (book / "chapters" / "tested_environments.json").write_text(
        json.dumps({"environments": {"floors": environment("2.0.0", 1)}}),
        encoding="utf-8",
    )
    # An unchanged book: only the status page is redone, with both records.
    assert make_book(book).returncode == 0
    page = (book / "_build" / "html" / "status.html").read_text(encoding="utf-8")
    assert "Last nbval run in this build: 2026-12-01 10:00:00 UTC" in page
    assert "1 FAILED, 1 passed, 1 skipped" in page
    assert "Tested with torch 2.0 and Python 3.11, in fresh environments:" in page
    assert "<td><p>1/1</p></td>" in page
    assert "<td><p>150 passed, 0 failed</p></td>" in page


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_linkcheck_fails_on_a_dead_link_and_names_it(tmp_path):
    """`make linkcheck`'s recipe (`make check-links`) on a scratch book whose two external links
    point at a local server: one page exists, one does not."""
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    (served / "ok.html").write_text("<html><body>ok</body></html>", encoding="utf-8")
    handler = functools.partial(
        type(
            "Quiet",
            (http.server.SimpleHTTPRequestHandler,),
            {"log_message": lambda *args: None},
        ),
        directory=str(served),
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(
        'title: links\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: "off"\n',
        encoding="utf-8",
    )
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n", encoding="utf-8")
    (book / "intro.md").write_text(
        f"# Links\n\n[good]({base}/ok.html) and [dead]({base}/missing.html).\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    try:
        done = subprocess.run(
            ["make", "--no-print-directory", "-C", str(ROOT), "check-links"]
            + [f"BOOK={book}", f"BOOK_BIN={Path(sys.executable).parent}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode != 0, done.stdout + done.stderr
    report = book / "_build" / "linkcheck" / "_build" / "html" / "output.txt"
    assert f"make linkcheck: broken links, see {report}" in done.stderr
    lines = report.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1, lines
    assert f"[broken] {base}/missing.html" in lines[0]
    assert not (book / "_build" / "html").exists(), "the site's own build is left alone"
