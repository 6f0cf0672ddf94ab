"""Test the course in a fresh environment at d2lutil's stated floors, or at the newest releases.

Usage: python3 scripts/check_versions.py floors [--python PY] [--jobs N] [--keep]   (make floors)
       python3 scripts/check_versions.py newest [--python PY] [--jobs N] [--keep]   (make newest)
       python3 scripts/check_versions.py table      (the record as a Markdown table)

``floors``: the oldest Python that ``pyproject.toml`` allows (``requires-python``) and exactly
the lower bound of each dependency it states (``torch>=2.0`` installs ``torch==2.0``), with
today's releases of everything else (pandas, IPython, Jupyter), as a reader's older environment
would have. One constraint is added, and stated wherever the floors are (``pyproject.toml``,
the README): ``pyparsing<3.3`` (``FLOOR_CONSTRAINTS``), because matplotlib before 3.10.7 calls
pyparsing names that pyparsing 3.3 deprecates, so that ``import matplotlib`` itself warns under
``-W error``. The run then upgrades pyparsing and records whether that warning is still there.

``newest``: the newest Python found (pyenv's, or ``--python``) and the newest release of every
package that pip resolves. A pip constraint file of the machine (``PIP_CONSTRAINT`` or pip's
``global.constraint``) still applies, and the table says so.

Either way it makes a virtual environment in ``_build/envs/<kind>``, installs d2lutil from a
wheel built from this checkout (not editable) and checks that installing it changed no other
package; then, with that environment's Python, it checks that ``python -W error -c "import
d2lutil"`` is silent, executes every notebook of ``chapters/`` with nbclient (outputs are not
stored; a probe cell checks that the kernel imported the installed d2lutil), runs the unit tests
of d2lutil (``course_infra.unit_test_files()``) and prints a table: versions, notebooks passed,
unit tests, the import check and every warning a notebook printed. The result is recorded in
``chapters/tested_environments.json``, which the execution-status page shows ("tested with
torch A.B to C.D"); commit it. The environment is deleted afterwards (several GB) unless
``--keep`` is given. Exit status 0 only if everything passed without a warning.

This file runs with any Python 3.11+ and the standard library; ``run-notebook`` (one notebook,
a JSON line on stdout) is what the environment's own Python runs, with nbclient.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course_infra

ROOT = course_infra.ROOT
ENVS = ROOT / "_build" / "envs"
RECORD = ROOT / "chapters" / "tested_environments.json"
KINDS = ("floors", "newest")
# Not floors of d2lutil: constraints that the floors environment needs, each stated with its
# reason in pyproject.toml and the README (tests/test_install.py checks that they agree).
FLOOR_CONSTRAINTS = ("pyparsing<3.3",)
# What the notebooks and the unit tests need besides d2lutil's dependencies (newest releases).
TOOLS = (
    "pandas",
    "ipykernel",
    "nbclient",
    "nbformat",
    "pytest",
    "pytest-xdist",
    "hypothesis",
)
SHOWN = ("torch", "numpy", "pandas", "matplotlib", "pyparsing")
PROBE_MARK = "CHECK_VERSIONS_PROBE "
PROBE = (
    "import json as _j, sys as _s, d2lutil as _d\n"
    f"print({PROBE_MARK!r} + _j.dumps({{'python': _s.executable, 'd2lutil': _d.__file__}}))"
)
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def say(message: str) -> None:
    print(f"check-versions: {message}", flush=True)


# ---------------------------------------------------------------- what to install


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"
    ]


def stated_floors() -> dict[str, str]:
    """The lower bounds ``pyproject.toml`` states: ``{"python": "3.11", "torch": "2.0", ...}``."""
    floors = {}
    python = re.fullmatch(r">=\s*([\d.]+)", project()["requires-python"].strip())
    if not python:
        raise SystemExit("requires-python in pyproject.toml must be one lower bound")
    floors["python"] = python.group(1)
    for dep in project()["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([\d.]+)", dep.strip())
        if not match:
            raise SystemExit(f"not a plain lower bound in pyproject.toml: {dep!r}")
        floors[match.group(1).lower()] = match.group(2)
    return floors


def requirements(kind: str) -> list[str]:
    """The requirement lines of the environment (d2lutil itself is installed afterwards)."""
    floors = stated_floors()
    del floors["python"]
    if kind == "floors":
        pins = [f"{name}=={version}" for name, version in floors.items()]
        return pins + list(FLOOR_CONSTRAINTS) + list(TOOLS)
    return list(floors) + list(TOOLS)


def pip_constraints() -> str:
    """The constraint file pip applies on this machine whatever we ask, in words ('' if none)."""
    found = os.environ.get("PIP_CONSTRAINT", "")
    if not found:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            check=False,
        )
        setting = re.compile(r"^(?:global|install)\.constraint='(.*)'$", re.M)
        found = " ".join(setting.findall(done.stdout))
    lines = []
    for name in found.split():
        path = Path(name.removeprefix("file://"))
        if path.is_file():
            lines += [
                ln.strip()
                for ln in path.read_text().splitlines()
                if ln.strip() and not ln.lstrip().startswith("#")
            ]
    return ", ".join(lines)


# ---------------------------------------------------------------------- Python


def python_version(python: str) -> tuple[int, int, int] | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return tuple(int(x) for x in done.stdout.split())  # type: ignore[return-value]


def pythons() -> dict[tuple[int, int, int], str]:
    """The CPython interpreters of this machine: pyenv's releases, and python3.N on PATH."""
    found: dict[tuple[int, int, int], str] = {}
    candidates = []
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if shutil.which("pyenv"):
        done = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        root = done.stdout.strip() or root
    for folder in sorted(Path(root, "versions").glob("*")):
        # Releases only, not 3.14-dev or free-threaded 3.13.0t builds.
        if re.fullmatch(r"\d+\.\d+\.\d+", folder.name):
            candidates.append(str(folder / "bin" / "python3"))
    candidates += [shutil.which(f"python3.{minor}") or "" for minor in range(8, 30)]
    candidates.append(shutil.which("python3") or "")
    for python in filter(None, candidates):
        version = python_version(python)
        if version and version not in found:
            found[version] = python
    return found


def choose_python(kind: str, given: str | None) -> str:
    if given:
        return shutil.which(given) or given
    available = pythons()
    if kind == "floors":
        wanted = tuple(int(x) for x in stated_floors()["python"].split("."))
        matching = [v for v in available if v[: len(wanted)] == wanted]
        if not matching:
            raise SystemExit(
                f"no Python {stated_floors()['python']} found (pyenv or PATH): install it "
                "(`pyenv install 3.11`) or pass --python"
            )
        return available[max(matching)]
    if not available:
        raise SystemExit("no Python found; pass --python")
    return available[max(available)]


# -------------------------------------------------------------- the environment


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(command, check=False, **kwargs)


def must(done: subprocess.CompletedProcess, what: str) -> str:
    if done.returncode != 0:
        noise = "is ignored: it is neither a file nor a directory"
        tail = [
            ln for ln in (done.stdout + done.stderr).splitlines() if noise not in ln
        ]
        raise SystemExit(f"{what} failed:\n" + "\n".join(tail[-30:]))
    return done.stdout


def freeze(python: Path) -> set[str]:
    done = run([str(python), "-m", "pip", "freeze", "--all"])
    lines = must(done, "pip freeze").splitlines()
    return {ln.strip() for ln in lines if ln.strip()}


def build_wheel(python: Path, into: Path) -> Path:
    """d2lutil's wheel, built from the package files of this checkout (not the working dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, src / name)
        shutil.copytree(
            ROOT / "d2lutil",
            src / "d2lutil",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        done = run(
            [str(python), "-m", "pip", "wheel", "--no-deps", "--quiet"]
            + ["--wheel-dir", str(into), str(src)]
        )
        must(done, "building d2lutil's wheel")
    (wheel,) = into.glob("d2lutil-*.whl")
    return wheel


def versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, platform\n"
        f"names = {SHOWN!r}\n"
        "v = {'python': platform.python_version()}\n"
        "for n in names:\n"
        "    try: v[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: v[n] = 'not installed'\n"
        "print(json.dumps(v))"
    )
    return json.loads(must(run([str(python), "-c", code]), "reading versions"))


def import_check(python: Path, module: str = "d2lutil") -> str:
    """'clean' when ``python -W error -c "import module"`` is silent, else its last line."""
    # Run outside the checkout, so that the installed package is imported.
    with tempfile.TemporaryDirectory() as tmp:
        done = run([str(python), "-W", "error", "-c", f"import {module}"], cwd=tmp)
    if done.returncode == 0 and not done.stderr.strip():
        return "clean"
    lines = (done.stderr or done.stdout).strip().splitlines()
    return short_error(lines[-1]) if lines else f"exit status {done.returncode}"


def short_error(line: str) -> str:
    """``pyparsing.warnings.PyparsingDeprecationWarning: x`` -> ``PyparsingDeprecationWarning:
    x``: the class without its module path (the status page must fit a phone's width)."""
    return re.sub(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*:)", "", line.strip())


# ------------------------------------------------------------------- notebooks


def warning_lines(stderr: str) -> list[str]:
    """What a notebook printed on stderr, one line per message: the indented source lines
    that ``warnings`` echoes are dropped, and paths into an environment's site-packages are
    shortened (``.../site-packages/torch/x.py`` -> ``torch/x.py``)."""
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln[:1].isspace()]
    return [re.sub(r"\S*/site-packages/", "", ln).strip() for ln in lines]


def run_notebook(path: Path, timeout: int) -> dict:
    """Execute one notebook in this Python's kernel (run inside the environment)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}".strip()
    except Exception as exc:  # a dead kernel or a timeout: still a result, not a crash
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    seconds = time.perf_counter() - start
    warnings, probe, failed_cell = [], {}, None
    code_index = -1
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_index += 1
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("output_type") == "stream" and PROBE_MARK in text:
                probe = json.loads(text.split(PROBE_MARK, 1)[1].splitlines()[0])
            elif (
                output.get("output_type") == "stream" and output.get("name") == "stderr"
            ):
                warnings += warning_lines(text)
            elif output.get("output_type") == "error" and failed_cell is None:
                if "raises-exception" not in cell.metadata.get("tags", []):
                    failed_cell = code_index
    if error and failed_cell is not None:
        error = f"code cell {failed_cell}: {error}"
    return {
        "notebook": course_infra.docname(path),
        "passed": not error,
        "error": error,
        "warnings": list(dict.fromkeys(warnings)),
        "seconds": round(seconds, 1),
        "probe": probe,
    }


def execute_notebooks(python: Path, venv: Path, jobs: int, timeout: int) -> list[dict]:
    env = {**os.environ, **KERNEL_ENV, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)

    def one(path: Path) -> dict:
        done = run(
            [
                str(python),
                __file__,
                "run-notebook",
                str(path),
                "--timeout",
                str(timeout),
            ],
            env=env,
            cwd=path.parent,
        )
        if done.returncode != 0 or not done.stdout.strip():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
            return {
                "notebook": course_infra.docname(path),
                "passed": False,
                "error": f"the runner failed: {tail[0]}",
                "warnings": [],
                "seconds": 0.0,
                "probe": {},
            }
        result = json.loads(done.stdout.strip().splitlines()[-1])
        installed = str(result["probe"].get("d2lutil", ""))
        if result["passed"] and not installed.startswith(str(venv)):
            result["passed"] = False
            result["error"] = f"the kernel imported d2lutil from {installed or '?'}"
        mark = "ok" if result["passed"] else f"FAILED ({result['error']})"
        say(f"  {result['notebook']}: {mark}, {result['seconds']} s")
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, course_infra.notebooks()))


# ------------------------------------------------------------------ unit tests


def unit_tests(venv: Path, jobs: int, report: Path) -> dict:
    env = {**os.environ, **KERNEL_ENV, "CI": "true", "COURSE_INSTALLED_D2LUTIL": "1"}
    env.pop("PYTHONPATH", None)
    files = [str(p.relative_to(ROOT)) for p in course_infra.unit_test_files()]
    # The console script, not `python -m pytest`: that would put the checkout (and its
    # d2lutil/) first on sys.path instead of the installed package.
    done = run(
        [str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"]
        + ["-n", str(jobs), f"--junitxml={report}", *files],
        cwd=ROOT,
        env=env,
    )
    if not report.is_file():
        tail = (done.stdout + done.stderr).strip().splitlines()[-20:]
        return {"passed": 0, "failed": 0, "skipped": 0, "error": "\n".join(tail)}
    cases = course_infra.read_junit(report).cases
    counts = {o: sum(c.outcome == o for c in cases) for o in ("passed", "failed")}
    counts["skipped"] = sum(c.outcome == "skipped" for c in cases)
    counts["failures"] = [
        f"{c.classname}::{c.name}: {c.message.splitlines()[0] if c.message else ''}"
        for c in cases
        if c.outcome == "failed"
    ]
    counts["files"] = len(files)
    return counts


# ---------------------------------------------------------------------- record


def load_record() -> dict:
    if RECORD.is_file():
        return json.loads(RECORD.read_text(encoding="utf-8"))
    return {"environments": {}}


def save_record(kind: str, result: dict) -> None:
    record = load_record()
    record["environments"][kind] = result
    record["environments"] = {
        k: record["environments"][k] for k in KINDS if k in record["environments"]
    }
    RECORD.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def table(record: dict) -> str:
    """The record as a Markdown table (also what the workflows put in their summary)."""
    head = ["environment", "date", "Python", "torch", "numpy", "pandas", "matplotlib"]
    head += [
        "notebooks",
        "unit tests",
        "`import d2lutil` (-W error)",
        "notebook warnings",
    ]
    rows = [head, ["---"] * len(head)]
    for kind, r in record["environments"].items():
        v = r["versions"]
        unit = r["unit_tests"]
        rows.append(
            [
                kind,
                r["date"],
                v["python"],
                v["torch"],
                v["numpy"],
                v["pandas"],
                v["matplotlib"],
                f"{r['notebooks']['passed']}/{r['notebooks']['total']}",
                f"{unit['passed']} passed, {unit['failed']} failed"
                + (f", {unit['skipped']} skipped" if unit["skipped"] else ""),
                r["import"],
                "; ".join(r["warnings"]) or "none",
            ]
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


# ------------------------------------------------------------------------ main


def check(kind: str, python_given: str | None, jobs: int, keep: bool) -> int:
    start = time.perf_counter()
    python = choose_python(kind, python_given)
    venv = ENVS / kind
    spec = requirements(kind)
    # The floors are exact pins (a conflicting constraint would fail the install); a
    # machine's constraint file matters for the newest releases, where it may cap one.
    constraints = pip_constraints() if kind == "newest" else ""
    say(f"{kind}: {python} -> {venv.relative_to(ROOT)}")
    say(f"requirements: {' '.join(spec)}")
    if constraints:
        say(f"pip constraints of this machine apply: {constraints}")
    shutil.rmtree(venv, ignore_errors=True)
    ENVS.mkdir(parents=True, exist_ok=True)
    must(run([python, "-m", "venv", str(venv)]), "creating the venv")
    vpy = venv / "bin" / "python"
    pip = [str(vpy), "-m", "pip", "install", "--quiet"]
    must(run([*pip, "--upgrade", "pip"]), "upgrading pip")
    say("installing (torch is a large download) ...")
    upgrade = ["--upgrade"] if kind == "newest" else []
    must(run([*pip, *upgrade, *spec]), "pip install")
    before = freeze(vpy)
    wheel = build_wheel(vpy, venv / "wheel")
    must(run([*pip, str(wheel)]), "installing d2lutil's wheel")
    after = freeze(vpy)
    changed = sorted(
        ln for ln in before ^ after if not re.match(r"d2lutil\b", ln, flags=re.I)
    )
    installed = versions(vpy)
    say("versions: " + ", ".join(f"{k} {v}" for k, v in installed.items()))
    say(
        "installing d2lutil changed "
        + (", ".join(changed) if changed else "no other package")
    )
    imported = import_check(vpy)
    say(f'python -W error -c "import d2lutil": {imported}')
    done = run(
        [
            str(vpy),
            "-c",
            "from d2lutil.data import load_fashion_mnist as f; f(False); f()",
        ],
        cwd=tempfile.gettempdir(),
    )
    if done.returncode != 0:
        say("Fashion-MNIST is not available to d2lutil here: " + done.stderr[-300:])
        say("(make test-deps gets it; chapters 4-5 fail without it)")

    say("executing every notebook (nbclient, outputs not stored) ...")
    results = execute_notebooks(vpy, venv, jobs, timeout=600)
    say("running the unit tests of d2lutil ...")
    unit = unit_tests(venv, jobs, venv / "unit.xml")
    say(
        f"unit tests: {unit['passed']} passed, {unit['failed']} failed, "
        f"{unit['skipped']} skipped"
    )

    exception = {}
    if kind == "floors":
        # The documented exception: is matplotlib's warning under pyparsing 3.3 still there?
        must(run([*pip, "pyparsing>=3.3"]), "installing pyparsing>=3.3")
        exception = {
            "pyparsing": versions(vpy)["pyparsing"],
            "import d2lutil": import_check(vpy),
            "import matplotlib.pyplot": import_check(vpy, "matplotlib.pyplot"),
        }
        say(f"with pyparsing {exception['pyparsing']}: {exception}")

    warnings = sorted({w for r in results for w in r["warnings"]})
    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "versions": installed,
        "requirements": spec,
        "pip_constraints": constraints,
        "install_changed": changed,
        "import": imported,
        "notebooks": {
            "passed": sum(r["passed"] for r in results),
            "total": len(results),
            "run": [r["notebook"] for r in results],
            "failed": {r["notebook"]: r["error"] for r in results if not r["passed"]},
        },
        "unit_tests": unit,
        "warnings": warnings,
        "warnings_by_notebook": {
            r["notebook"]: r["warnings"] for r in results if r["warnings"]
        },
    }
    if exception:
        result["pyparsing_3_3"] = exception
    save_record(kind, result)

    print()
    print(table(load_record()))
    print()
    for name, error in result["notebooks"]["failed"].items():
        print(f"{kind}: FAILED {name}: {error}")
    for failure in unit.get("failures", []):
        print(f"{kind}: FAILED {failure}")
    for name, lines in result["warnings_by_notebook"].items():
        print(f"{kind}: WARNING in {name}: {' / '.join(lines)}")
    if unit.get("error"):
        print(f"{kind}: the unit tests did not run:\n{unit['error']}")
    if constraints:
        print(f"{kind}: pip constraints of this machine applied: {constraints}")
    print(f"{kind}: recorded in {RECORD.relative_to(ROOT)} (commit it)")

    if keep:
        say(f"kept {venv.relative_to(ROOT)} (--keep); delete it when done: it is large")
    else:
        shutil.rmtree(venv, ignore_errors=True)
    say(f"took {time.perf_counter() - start:.0f} s")
    ok = (
        result["notebooks"]["passed"] == result["notebooks"]["total"]
        and unit["failed"] == 0
        and not unit.get("error")
        and imported == "clean"
        and not warnings
        and not changed
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for kind in KINDS:
        p = sub.add_parser(kind, help=f"make {kind}")
        p.add_argument("--python", help="the interpreter to build the venv with")
        p.add_argument("--jobs", type=int, default=2, help="notebooks run at once")
        p.add_argument("--keep", action="store_true", help="keep the venv afterwards")
    sub.add_parser("table", help="print the recorded environments as a Markdown table")
    p = sub.add_parser("run-notebook", help="(inside the environment) one notebook")
    p.add_argument("path", type=Path)
    p.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args(argv)
    if args.command == "table":
        print(table(load_record()))
        return 0
    if args.command == "run-notebook":
        print(json.dumps(run_notebook(args.path.resolve(), args.timeout)))
        return 0
    return check(args.command, args.python, max(1, args.jobs), args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
