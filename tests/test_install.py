"""Installing d2lutil changes no package that is already there (as in Colab), offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRESENT = ("torch", "numpy", "pandas", "matplotlib")  # in Colab, say
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


FIGURE_PROBE = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
import matplotlib, numpy, torch
import d2lutil as d2l
d2l.use_svg_display()
x = torch.arange(0, 3, 0.5)
d2l.plot(x, [x, x**2], "x", "y", legend=["x", "x^2"])
data, _ = shell.display_formatter.format(d2l.plt.gcf())
assert data["image/svg+xml"].startswith("<?xml"), sorted(data)
board = d2l.ProgressBoard(xlabel="epoch", mode="off")
for i in range(4):
    board.draw(i, 1 / (i + 1), "train_loss")
board.render().savefig(__import__("io").BytesIO(), format="png")
print(numpy.__version__, matplotlib.__version__)
"""


def test_the_stated_floors_of_numpy_and_matplotlib_draw_figures(tmp_path):
    """Install numpy and matplotlib at pyproject's lower bounds next to this environment."""
    import site
    import sysconfig

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = dict(
        re.fullmatch(r"(\w+)>=([\d.]+)", d).groups() for d in deps["dependencies"]
    )
    venv = tmp_path / "floors"
    made = run("-m", "venv", "--system-site-packages", "--without-pip", str(venv))
    assert made.returncode == 0, made.stderr
    (purelib,) = {sysconfig.get_paths(vars={"base": str(venv)})["purelib"]}
    # This environment's packages (torch, IPython) come after the floor versions.
    Path(purelib).mkdir(parents=True, exist_ok=True)
    (Path(purelib) / "_here.pth").write_text(
        f"import site; site.addsitedir({site.getsitepackages()[0]!r})\n"
    )
    wanted = [f"numpy=={floors['numpy']}", f"matplotlib=={floors['matplotlib']}"]
    pip = run(
        "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
        "--target", purelib, "--upgrade", *wanted,
    )  # fmt: skip
    if pip.returncode != 0:
        pytest.skip(f"no wheels of {wanted} can be installed here: {pip.stderr[-300:]}")
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", FIGURE_PROBE],
        capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.split() == [floors["numpy"], floors["matplotlib"] + ".0"]
