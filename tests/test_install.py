"""Installing d2lutil changes no package that is already there (as in Colab), offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PRESENT = ("torch", "numpy", "pandas", "matplotlib")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_dependencies_are_lower_bounds_only():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in deps}
    assert names == set(PRESENT)
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
