"""Installing d2lutil changes no package that is already there (as in Colab), offline; the
stated floors agree everywhere, and the site build needs no torch.

The floors themselves are installed and run by `make floors` (scripts/check_versions.py:
every notebook and the unit tests at exactly those versions), not here: it downloads several
GB. These tests check that what it installs, pyproject.toml and the README say the same thing,
and that its committed record was made at today's floors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import check_versions  # scripts/ (on sys.path: tests/conftest.py)
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPENDENCIES = ("torch", "numpy", "matplotlib")  # pandas: the package never imports it


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_dependencies_are_lower_bounds_only():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in deps}
    assert names == set(DEPENDENCIES)
    for dep in deps:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+>=[0-9.]+", dep), (
            f"not a plain lower bound: {dep}"
        )


def test_pip_would_install_d2lutil_and_nothing_else(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "d2lutil", src / "d2lutil", ignore=shutil.ignore_patterns("__pycache__")
    )
    built = run(
        "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(src),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("d2lutil-*.whl")
    report = tmp_path / "report.json"
    dry = run(
        "-m", "pip", "install", "--dry-run", "--no-index", "--quiet",
        "--report", str(report), str(wheel),
    )  # fmt: skip
    # --no-index: if pip wanted another torch, numpy, pandas or matplotlib it
    # could not find one and would fail here.
    assert dry.returncode == 0, dry.stderr
    planned = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert set(planned) == {"d2lutil"}, planned


def test_import_needs_no_torchvision_and_no_ipython():
    probe = run(
        "-c",
        "import sys, d2lutil; "
        "print(sorted(m for m in ('torchvision', 'IPython') if m in sys.modules))",
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
    assert probe.stderr == ""


def test_the_package_imports_only_its_dependencies():
    imported = set()
    for path in (ROOT / "d2lutil").glob("*.py"):
        for line in path.read_text().splitlines():
            if match := re.match(r"(?:import|from) ([A-Za-z_]\w*)", line):
                imported.add(match.group(1))
    third_party = (
        imported - set(sys.stdlib_module_names) - {"IPython", "matplotlib_inline"}
    )
    assert third_party == set(DEPENDENCIES)


# ------------------------------------------------------------- the stated floors, tested


def _release(version: str) -> tuple[int, ...]:
    """``2.0`` and ``2.0.0+cpu`` -> (2, 0, 0): the release, zero-padded to three parts."""
    parts = [int(x) for x in version.split("+")[0].split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_make_floors_installs_exactly_the_stated_floors():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    stated = dict(
        re.fullmatch(r"(\w+)>=([\d.]+)", d).groups() for d in deps["dependencies"]
    )
    spec = check_versions.requirements("floors")
    pins = dict(
        re.fullmatch(r"([\w-]+)==([\d.]+)", s).groups() for s in spec if "==" in s
    )
    assert pins == stated, f"make floors installs {pins}, pyproject states {stated}"
    assert check_versions.stated_floors()["python"] == deps["requires-python"][2:]
    for constraint in check_versions.FLOOR_CONSTRAINTS:
        assert constraint in spec
    newest = check_versions.requirements("newest")
    assert not [s for s in newest if re.search(r"[<>=]", s)], newest
    assert set(stated) <= set(newest)


def test_the_readme_and_pyproject_state_the_same_floors():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = check_versions.stated_floors()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(
        r"lower\s+bounds only \(Python ([\d.]+), torch ([\d.]+), numpy ([\d.]+), "
        r"matplotlib ([\d.]+)\)",
        readme,
    )
    assert match, "the README no longer states the floors as (Python X, torch Y, ...)"
    assert match.groups() == tuple(
        floors[k] for k in ("python", "torch", "numpy", "matplotlib")
    )
    assert len(deps["dependencies"]) == 3
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for constraint in check_versions.FLOOR_CONSTRAINTS:
        assert constraint in readme.replace("`", ""), f"README omits {constraint}"
        assert constraint in pyproject, f"pyproject.toml omits {constraint}"


def test_the_recorded_floors_run_used_the_stated_floors():
    """The status page's "tested with torch A.B" must come from a run at today's floors:
    raising a floor without re-running `make floors` (and committing its record) fails here."""
    record = check_versions.load_record()
    assert set(record["environments"]) <= set(check_versions.KINDS)
    floors_run = record["environments"].get("floors")
    assert floors_run, "no floors run recorded: run `make floors` and commit its record"
    floors = check_versions.stated_floors()
    for name in ("torch", "numpy", "matplotlib"):
        assert _release(floors_run["versions"][name]) == _release(floors[name]), name
    python = floors_run["versions"]["python"].split(".")[:2]
    assert ".".join(python) == floors["python"]
    assert floors_run["requirements"] == check_versions.requirements("floors")
    newest = record["environments"].get("newest")
    if newest:
        assert _release(newest["versions"]["torch"]) >= _release(floors["torch"])


def test_the_site_build_installs_no_torch():
    """`make book` sets up its own environment from requirements-site.txt, whose pins are the
    test environment's too (so `make test` builds the same site)."""
    site = _pins(ROOT / "requirements-site.txt")
    full = _pins(ROOT / "requirements.txt")
    assert {"jupyter-book", "sphinxcontrib-bibtex", "sphinx-exercise"} <= set(site)
    heavy = {"torch", "numpy", "pandas", "matplotlib"} & set(site)
    heavy |= {n for n in site if n.startswith("nvidia")}
    assert not heavy, f"the site build installs {heavy}"
    assert {n: full.get(n) for n in site} == site, "requirements.txt differs on a pin"
    if shutil.which("make") is None:
        pytest.skip("needs make")
    dry = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", "book"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    )
    assert dry.returncode == 0, dry.stderr
    installs = [ln for ln in dry.stdout.splitlines() if "pip install" in ln]
    assert any("-r requirements-site.txt" in ln for ln in installs), installs
    assert not any("requirements.txt" in ln.split() for ln in installs), installs
    assert "jupyter-book build -W" in dry.stdout


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line):
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_recorded_errors_name_the_warning_class_without_its_module():
    shorten = check_versions.short_error
    assert (
        shorten("pyparsing.warnings.PyparsingDeprecationWarning: 'oneOf' deprecated")
        == "PyparsingDeprecationWarning: 'oneOf' deprecated"
    )
    assert shorten("  UserWarning: see a.b: c ") == "UserWarning: see a.b: c"
