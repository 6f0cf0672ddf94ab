"""What the repository's tools share: which files make up the course, and what a test run said.

One module for the tests (``tests/conftest.py`` puts ``scripts/`` on ``sys.path``), the scripts
(same folder), the benchmarks and the Sphinx extension ``_ext/exec_status.py``. It imports the
standard library only (PyYAML when the table of contents is read), so it works in every
environment the repository builds: the test venv, the site-only venv of ``make book`` and the
floors and newest venvs of ``make floors`` / ``make newest``.

- **Notebooks**: ``notebooks()`` lists the section notebooks in reading order,
  ``training_notebooks()`` those that train a model, ``sort_notebooks()`` orders any list the
  same way, ``docname()`` names a file as Sphinx does, ``toc_files()`` reads ``_toc.yml``.
- **Tests**: ``unit_test_files()`` are the tests of ``d2lutil`` that run in any environment
  (``make floors`` runs them at the stated lower bounds); ``TOOLING_TESTS`` are the rest.
- **The nbval report**: ``read_junit()`` reads the JUnit XML that ``make test`` writes
  (``_build/reports/nbval.xml``), ``nbval_counts()`` counts its cells per notebook (the status
  page's column) and ``nbval_summary()`` is the readable report derived from it (``nbval.txt``).
- **The check float path**: ``check_float_path()``, the environment under which ``make test``
  re-executes the notebooks (the Makefile asks for it: ``python3 scripts/course_infra.py
  check-float-path``).
- **Chromium**: ``chromium_executable()``, the one finder used by the browser tests and by
  ``scripts/ensure_test_deps.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
TESTS = ROOT / "tests"
REPORTS = ROOT / "_build" / "reports"
NBVAL_XML = REPORTS / "nbval.xml"


def in_ci() -> bool:
    """Whether ``CI`` is set to a true value (GitHub sets ``CI=true``; so does ``make test``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


# ------------------------------------------------------------------ notebooks


def natural_key(text: str) -> list[int | str]:
    """Sort key that orders ``2_10`` after ``2_9`` (numbers compared as numbers)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def is_notebook(path: Path) -> bool:
    """A notebook of the course: an ``.ipynb`` file outside Jupyter's checkpoint folders."""
    path = Path(path)
    return path.suffix == ".ipynb" and ".ipynb_checkpoints" not in path.parts


def sort_notebooks(paths: Iterable[Path | str]) -> list:
    """``paths`` in reading order (chapter, then section number), unchanged in type."""
    return sorted(paths, key=lambda p: natural_key(Path(p).as_posix()))


def notebooks(folder: Path = CHAPTERS) -> list[Path]:
    """Every section notebook under ``folder`` (default ``chapters/``), in reading order."""
    return sort_notebooks(p for p in Path(folder).rglob("*.ipynb") if is_notebook(p))


def code_sources(path: Path) -> list[str]:
    """The source of every code cell of a notebook, as one string per cell."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "code"
    ]


RECORD_KEY = (
    "stored_run"  # scripts/execute_notebook.py writes it, _ext/exec_status.py shows it
)


def stored_run(path: Path) -> dict:
    """A notebook's record of its stored run (seconds, versions, ...), {} if it has none."""
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    record = (
        notebook.get("metadata", {}).get(RECORD_KEY)
        if isinstance(notebook, dict)
        else None
    )
    return record if isinstance(record, dict) else {}


def training_notebooks(folder: Path = CHAPTERS) -> list[Path]:
    """The notebooks that train a model (a code cell calls ``.fit(``), in reading order."""
    return [p for p in notebooks(folder) if any(".fit(" in s for s in code_sources(p))]


def docname(path: Path, root: Path = ROOT) -> str:
    """A source file's name as Sphinx and ``_toc.yml`` give it: ``chapters/02_x/2_1_y``."""
    return Path(path).resolve().relative_to(root).with_suffix("").as_posix()


def toc_files(root: Path = ROOT) -> list[str]:
    """Every file ``_toc.yml`` lists (root, parts, chapters, sections), in reading order."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries: list[dict] | None) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


# ---------------------------------------------------------------------- tests

# Tests of the repository's tooling (this module, the site, the workflows, the stored runs,
# notebook hygiene, drift, installation, the sanitizer, the GPU script): they need the full
# build-and-test environment and do not depend on the versions of torch, numpy or matplotlib.
# Every other test file tests d2lutil itself and runs at the floors and the newest releases.
TOOLING_TESTS = (
    "test_course_infra.py",
    "test_site_*.py",
    "test_workflows.py",
    "test_stored_runs.py",
    "test_notebooks.py",
    "test_drift.py",
    "test_install.py",
    "test_nbval_sanitize.py",
    "test_gpu_check.py",
)


def unit_test_files(folder: Path = TESTS) -> list[Path]:
    """The test files of ``d2lutil`` (every ``test_*.py`` but the tooling tests), sorted."""
    return sorted(
        p
        for p in Path(folder).glob("test_*.py")
        if not any(p.match(pattern) for pattern in TOOLING_TESTS)
    )


# -------------------------------------------------------- the nbval JUnit report


@dataclass
class Case:
    """One ``<testcase>`` of a JUnit report: a test function, or one notebook cell."""

    classname: str
    name: str
    seconds: float
    outcome: str  # "passed", "failed" (failure or error) or "skipped"
    message: str = ""
    text: str = ""

    @property
    def notebook(self) -> str | None:
        """The notebook's docname (``chapters/02_x/2_1_y``) for an nbval cell, else None."""
        if not self.classname.endswith(".ipynb"):
            return None
        return self.classname[: -len(".ipynb")].replace(".", "/")


@dataclass
class JunitRun:
    """A JUnit report: the run's name and start (UTC, ``YYYY-MM-DD HH:MM:SS``) and its cases."""

    name: str = ""
    timestamp: str = ""
    cases: list[Case] = field(default_factory=list)

    @property
    def cells(self) -> list[Case]:
        return [c for c in self.cases if c.notebook]


def read_junit(path: Path) -> JunitRun:
    """Read the JUnit XML that pytest writes (``--junitxml``), nbval's cells included."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    run = JunitRun()
    for suite in suites:
        run.name = suite.get("name", "")
        run.timestamp = suite.get("timestamp", "")[:19].replace("T", " ")
        for case in suite.iter("testcase"):
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            skipped = case.find("skipped")
            if bad is not None:
                outcome, detail = "failed", bad
            elif skipped is not None:
                outcome, detail = "skipped", skipped
            else:
                outcome, detail = "passed", None
            run.cases.append(
                Case(
                    classname=case.get("classname", ""),
                    name=case.get("name", ""),
                    seconds=float(case.get("time") or 0),
                    outcome=outcome,
                    message="" if detail is None else detail.get("message", ""),
                    text="" if detail is None else (detail.text or ""),
                )
            )
    return run


def nbval_counts(run: JunitRun) -> dict[str, list[int]]:
    """Per notebook docname, ``[passed, failed, skipped]`` cells, in reading order."""
    counts: dict[str, list[int]] = {}
    index = {"passed": 0, "failed": 1, "skipped": 2}
    for cell in run.cells:
        counts.setdefault(cell.notebook, [0, 0, 0])[index[cell.outcome]] += 1
    return {k: counts[k] for k in sort_notebooks(counts)}


def nbval_summary(run: JunitRun) -> str:
    """The readable nbval report: one line per notebook, then every failed cell's report."""
    seconds: dict[str, float] = {}
    for cell in run.cells:
        seconds[cell.notebook] = seconds.get(cell.notebook, 0.0) + cell.seconds
    lines = [
        f"nbval: cells passed / failed / skipped and seconds, per notebook ({run.name}, "
        f"started {run.timestamp} UTC)",
        "",
    ]
    for notebook, (passed, failed, skipped) in nbval_counts(run).items():
        lines.append(
            f"{notebook}.ipynb: {passed} passed, {failed} failed, {skipped} skipped, "
            f"{seconds[notebook]:.1f} s"
        )
    for cell in run.cells:
        if cell.outcome == "failed":
            lines += ["", "=" * 100, f"FAILED {cell.notebook}.ipynb::{cell.name}"]
            lines.append(cell.text.strip() or cell.message)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- Chromium

# The float path nbval checks the stored outputs on ----------------------------------------------


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> tuple[str, set[str]]:
    """The CPU's vendor and instruction-set flags, as Linux lists them ("", set() elsewhere)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "", set()
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in text.splitlines())
        if key.strip() in ("vendor_id", "flags")
    )
    return fields.get("vendor_id", ""), set(fields.get("flags", "").split())


def check_float_path(vendor: str = "", flags: set[str] | None = None) -> dict[str, str]:
    """The environment under which ``make test`` re-executes the notebooks (README, "Tests").

    ``make outputs`` stores them on the machine's native float path; the check runs on one
    this machine does not take by itself, so that an output that depends on the last digits
    of a float fails here instead of on another CPU. torch's element-wise kernels: the
    portable ones (``ATEN_CPU_CAPABILITY=default``) instead of the vectorised ones. MKL's
    (matrix products, least squares): on an Intel CPU with AVX-512, whose native kernels are
    AVX-512 ones, the AVX2 kernels of CPUs without it (``MKL_CBWR=AVX2``); on any other CPU,
    where the AVX2 kernels may be the native ones, the conditional-reproducibility kernels
    (``MKL_CBWR=COMPATIBLE``, 3 to 6 times slower at matrix products). ``vendor`` and
    ``flags`` default to this machine's.
    """
    if flags is None:
        vendor, flags = cpu_info()
    intel_avx512 = vendor == "GenuineIntel" and "avx512f" in flags
    return {
        "MKL_CBWR": "AVX2" if intel_avx512 else "COMPATIBLE",
        "ATEN_CPU_CAPABILITY": "default",
    }


def env_words(env: dict[str, str]) -> str:
    """An environment as ``KEY=value`` words, as a shell command line takes it."""
    return " ".join(f"{key}={value}" for key, value in env.items())


# Real binaries first: Debian's /usr/bin/chromium is a shell wrapper around
# /usr/lib/chromium/chromium, which Playwright must launch directly.
CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "/usr/lib/chromium-browser/chromium-browser",
    "/usr/lib64/chromium-browser/chromium-browser",
    "/snap/chromium/current/usr/lib/chromium-browser/chrome",
    "/opt/google/chrome/chrome",
)
CHROMIUM_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)


def chromium_executable() -> str | None:
    """The Chromium binary to drive: $CHROMIUM, a known install location, one on PATH, else
    Playwright's own; None where there is none."""
    if os.environ.get("CHROMIUM"):
        path = shutil.which(os.environ["CHROMIUM"]) or os.environ["CHROMIUM"]
        return path if os.access(path, os.X_OK) else None
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            real = os.path.realpath(found)
            if not _is_shell_script(real):
                return real
    return playwright_chromium()


def playwright_chromium() -> str | None:
    """Playwright's own Chromium, where `playwright install chromium` has put one."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # no playwright, no driver, or no browser of its own
        return None
    return path if path and os.access(path, os.X_OK) else None


def _is_shell_script(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return True


if __name__ == "__main__":
    # `python3 scripts/course_infra.py check-float-path`: the Makefile's CHECK_FLOAT_PATH.
    if sys.argv[1:] != ["check-float-path"]:
        sys.exit("usage: python3 scripts/course_infra.py check-float-path")
    print(env_words(check_float_path()))
