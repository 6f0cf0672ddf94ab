"""The shared test infrastructure (scripts/course_infra.py): notebook lists, the nbval report,
the Chromium finder."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import course_infra as ci
import pytest

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="make test, MKL_CBWR=COMPATIBLE" timestamp="2026-12-01T10:00:00.1+00:00">
<testcase classname="tests.test_data" name="test_x" time="0.5"/>
<testcase classname="tests.test_data" name="test_y" time="0.1"><failure message="assert 1 == 2">long text</failure></testcase>
<testcase classname="chapters.02_x.2_10_a.ipynb" name="Cell 0" time="1.5"/>
<testcase classname="chapters.02_x.2_10_a.ipynb" name="Cell 1" time="2.0"><failure message="short">Notebook cell execution failed
Expected: 1
Got: 2</failure></testcase>
<testcase classname="chapters.02_x.2_10_a.ipynb" name="Cell 2" time="0"><skipped message="skip"/></testcase>
<testcase classname="chapters.02_x.2_9_b.ipynb" name="Cell 0" time="0.25"><error message="boom">setup error</error></testcase>
<testcase classname="chapters.02_x.2_9_b.ipynb" name="Cell 1" time="0.25"/>
</testsuite></testsuites>
"""


def test_natural_order_puts_section_10_after_9():
    names = [
        "chapters/02_x/2_10_a.ipynb",
        "chapters/02_x/2_9_b.ipynb",
        "chapters/10_z/x",
    ]
    assert ci.sort_notebooks(names) == [names[1], names[0], names[2]]
    assert ci.sort_notebooks([Path(n) for n in names])[0] == Path(names[1])


def test_notebooks_are_the_sections_in_toc_order():
    listed = [ci.docname(p) for p in ci.notebooks()]
    assert listed, "no notebooks found in chapters/"
    in_toc = [f for f in ci.toc_files() if (ci.ROOT / f"{f}.ipynb").is_file()]
    assert listed == in_toc


def test_notebooks_skip_checkpoints(tmp_path):
    (tmp_path / "01_a" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "01_a" / "1_2_b.ipynb").write_text("{}")
    (tmp_path / "01_a" / "1_10_c.ipynb").write_text("{}")
    (tmp_path / "01_a" / ".ipynb_checkpoints" / "1_2_b-checkpoint.ipynb").write_text(
        "{}"
    )
    (tmp_path / "01_a" / "notes.md").write_text("")
    assert [p.name for p in ci.notebooks(tmp_path)] == ["1_2_b.ipynb", "1_10_c.ipynb"]


def test_training_notebooks_are_those_that_call_fit():
    names = [p.name for p in ci.training_notebooks()]
    assert "4_4_softmax_regression_scratch.ipynb" in names
    assert "5_2_mlp_implementation.ipynb" in names
    assert "2_1_data_manipulation.ipynb" not in names
    for path in ci.notebooks():
        calls_fit = any(".fit(" in s for s in ci.code_sources(path))
        assert (path.name in names) == calls_fit, path.name


def test_unit_test_files_leave_out_the_tooling_tests(tmp_path):
    for name in ("test_base.py", "test_new_helper.py", "test_site_math.py"):
        (tmp_path / name).write_text("")
    for name in ("test_workflows.py", "test_drift.py", "conftest.py", "helpers.py"):
        (tmp_path / name).write_text("")
    assert [p.name for p in ci.unit_test_files(tmp_path)] == [
        "test_base.py",
        "test_new_helper.py",
    ]
    real = {p.name for p in ci.unit_test_files()}
    assert {"test_base.py", "test_training.py"} <= real
    assert not real & {"test_workflows.py", "test_site_html.py", "test_install.py"}


def test_junit_report_is_read_per_notebook_in_reading_order(tmp_path):
    report = tmp_path / "nbval.xml"
    report.write_text(JUNIT, encoding="utf-8")
    run = ci.read_junit(report)
    assert (run.name, run.timestamp) == (
        "make test, MKL_CBWR=COMPATIBLE",
        "2026-12-01 10:00:00",
    )
    assert len(run.cases) == 7
    assert len(run.cells) == 5
    assert run.cases[1].outcome == "failed"
    assert run.cases[1].message == "assert 1 == 2"
    counts = ci.nbval_counts(run)
    assert list(counts) == ["chapters/02_x/2_9_b", "chapters/02_x/2_10_a"]
    assert counts == {
        "chapters/02_x/2_9_b": [1, 1, 0],
        "chapters/02_x/2_10_a": [1, 1, 1],
    }


def test_readable_summary_is_derived_from_the_junit_report(tmp_path):
    report = tmp_path / "nbval.xml"
    report.write_text(JUNIT, encoding="utf-8")
    lines = ci.nbval_summary(ci.read_junit(report)).splitlines()
    assert lines[0].endswith(
        "(make test, MKL_CBWR=COMPATIBLE, started 2026-12-01 10:00:00 UTC)"
    )
    assert lines[2:4] == [
        "chapters/02_x/2_9_b.ipynb: 1 passed, 1 failed, 0 skipped, 0.5 s",
        "chapters/02_x/2_10_a.ipynb: 1 passed, 1 failed, 1 skipped, 3.5 s",
    ]
    text = "\n".join(lines)
    assert (
        "FAILED chapters/02_x/2_10_a.ipynb::Cell 1\nNotebook cell execution failed"
        in text
    )
    assert "FAILED chapters/02_x/2_9_b.ipynb::Cell 0\nsetup error" in text
    assert "test_y" not in text, "unit test failures are not nbval's"


def test_conftest_derives_nbval_txt_from_the_junit_report(tmp_path):
    """A real nbval run of a scratch notebook (one cell right, one wrong) with tests/conftest.py
    loaded: the readable report appears next to the JUnit XML and says the same."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    for code, stored in (("print(1 + 1)", "2\n"), ("print(2 + 2)", "5\n")):
        cell = nbformat.v4.new_code_cell(code, execution_count=1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
        nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "scratch.ipynb")
    xml = tmp_path / "reports" / "nbval.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider"]
        + ["--nbval", "scratch.ipynb", f"--junitxml={xml}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ci.TESTS)},
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the second cell fails
    assert f"nbval report: {xml.with_suffix('.txt')} (from nbval.xml)" in done.stdout
    text = xml.with_suffix(".txt").read_text(encoding="utf-8")
    assert text == ci.nbval_summary(ci.read_junit(xml))
    assert "scratch.ipynb: 1 passed, 1 failed, 0 skipped" in text
    assert "FAILED scratch.ipynb::Cell 1" in text


def test_chromium_finder_honours_the_environment(monkeypatch, tmp_path):
    program = tmp_path / "my-chromium"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("CHROMIUM", str(program))
    assert ci.chromium_executable() == str(program)
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "missing"))
    assert ci.chromium_executable() is None
    monkeypatch.delenv("CHROMIUM")
    found = ci.chromium_executable()
    if found is not None:
        assert os.access(found, os.X_OK)


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("", False)]
)
def test_in_ci(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert ci.in_ci() is expected


# The check float path ----------------------------------------------------------------------

CPUINFO = """processor\t: 0
vendor_id\t: {vendor}
model name\t: Some CPU
flags\t\t: fpu sse2 avx avx2 fma{extra}

processor\t: 1
vendor_id\t: {vendor}
flags\t\t: fpu sse2 avx avx2 fma{extra}
"""


@pytest.mark.parametrize(
    ("vendor", "extra", "mkl"),
    [
        ("GenuineIntel", " avx512f avx512bw", "AVX2"),  # native MKL kernels are AVX-512
        ("GenuineIntel", "", "COMPATIBLE"),  # AVX2 may be the native path
        ("AuthenticAMD", " avx512f", "COMPATIBLE"),  # MKL need not take AVX-512 there
    ],
)
def test_check_float_path_is_never_the_native_one(tmp_path, vendor, extra, mkl):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(vendor=vendor, extra=extra))
    found_vendor, flags = ci.cpu_info(cpuinfo)
    assert found_vendor == vendor
    assert ("avx512f" in flags) == bool(extra)
    assert "avx2" in flags
    path = ci.check_float_path(found_vendor, flags)
    assert path == {"MKL_CBWR": mkl, "ATEN_CPU_CAPABILITY": "default"}
    assert ci.env_words(path) == f"MKL_CBWR={mkl} ATEN_CPU_CAPABILITY=default"


def test_check_float_path_without_cpuinfo_is_the_reproducible_mode(tmp_path):
    assert ci.cpu_info(tmp_path / "missing") == ("", set())
    assert ci.check_float_path("", set())["MKL_CBWR"] == "COMPATIBLE"


def test_make_test_checks_on_the_path_course_infra_names():
    command = ["make", "-n", "--no-print-directory", "nbval"]
    shown = subprocess.run(
        command, cwd=ci.ROOT, capture_output=True, text=True, check=True
    ).stdout  # (after the set-up's commands where the venv is not set up yet)
    (nbval,) = [line for line in shown.splitlines() if "pytest chapters" in line]
    expected = ci.env_words(ci.check_float_path())
    assert nbval.startswith(expected + " .venv/bin/pytest chapters"), nbval
    assert "--dist loadfile --no-loadscope-reorder" in nbval


# The order in which pytest hands out work (conftest.py) ---------------------------------------


def test_notebooks_are_handed_out_longest_first():
    """The root conftest.py orders notebooks by their stored run, longest first, and keeps
    each notebook's cells together and in order."""
    chosen = [ci.CHAPTERS / name for name in (
        "02_preliminaries/2_1_data_manipulation.ipynb",
        "05_multilayer_perceptrons/5_7_capstone.ipynb",
        "03_linear_regression/3_7_weight_decay.ipynb",
    )]  # fmt: skip
    seconds = {path: ci.stored_run(path)["seconds"] for path in chosen}
    assert len(set(seconds.values())) == 3
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval"]
    command += ["-p", "no:xdist", "-p", "no:cacheprovider", *map(str, chosen)]
    shown = subprocess.run(
        command, cwd=ci.ROOT, capture_output=True, text=True, check=True
    ).stdout
    items = [line for line in shown.splitlines() if "::Cell " in line]
    files = list(dict.fromkeys(line.split("::")[0] for line in items))
    longest_first = sorted(chosen, key=seconds.get, reverse=True)
    assert files == [str(p.relative_to(ci.ROOT)) for p in longest_first]
    for file in files:
        cells = [int(line.rsplit(" ", 1)[1]) for line in items if line.startswith(file)]
        assert cells == list(range(len(cells)))  # together and in order


def test_the_root_conftest_leaves_the_checkout_off_sys_path():
    """pytest puts the folder of the root conftest.py on sys.path to import it; were it left
    there, `make floors` would test the checkout's d2lutil instead of the installed wheel."""
    assert not [p for p in sys.path if p and Path(p).resolve() == ci.ROOT]


# make mutants (pyproject.toml's [tool.mutmut]) -----------------------------------------------


def test_mutation_testing_runs_every_unit_test_of_the_package():
    """Mutants are run against every test file of d2lutil (course_infra.unit_test_files, as
    `make floors` runs them; ten files were left out until this test), and mutants/ holds
    what tests/conftest.py imports."""
    config = tomllib.loads((ci.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mutmut = config["tool"]["mutmut"]
    selected = sorted(mutmut["pytest_add_cli_args_test_selection"])
    assert selected == [f"tests/{p.name}" for p in ci.unit_test_files()]
    conftest = (ci.ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    assert "import course_infra" in conftest
    assert "scripts/" in mutmut["also_copy"]
