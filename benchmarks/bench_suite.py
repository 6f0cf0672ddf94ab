"""Where the time of `make test` goes: lint, unit, nbval, build and site, each timed alone.

Usage: python benchmarks/bench_suite.py [--jobs N] [--parts lint,unit,nbval,build,site]
       (`make bench-suite`, after `make setup` and `make test-deps`)

Runs the parts of ``make test`` one after the other with the same commands and options (two
pytest-xdist workers, one intra-op thread each, ``CI=true``, nbval on the check float path),
so each part's wall-clock time is its own:

- ``lint``: ``ruff check`` and ``ruff format --check``;
- ``unit``: every test in ``tests/`` but the site tests (unit, hygiene, drift, stored runs,
  workflows, install);
- ``nbval``: every notebook re-executed and compared (report in ``_build/reports/nbval.xml``,
  as ``make test`` writes it, so the status page of the build below shows it);
- ``build``: the strict site build from stored outputs, from scratch (``_build/html`` and
  Sphinx's saved environment are removed first, as on a fresh CI machine);
- ``site``: the site tests against that build (HTML and browser).

Prints one JSON line per part (seconds, tests passed/failed/skipped, the five slowest tests
with their seconds) and a last line with the total and each part's share. In ``make test``
unit and nbval share one pytest run, so its total is a little lower than this sum (one
start-up instead of two). The figures depend on the machine and its load: say which.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import course_infra

ROOT = course_infra.ROOT
BIN = Path(sys.executable).parent
OUT = ROOT / "_build" / "bench-suite"
SITE_TESTS = [
    "tests/test_site_browser.py",
    "tests/test_site_html.py",
]  # as the Makefile
CHECK_FLOAT_PATH = course_infra.check_float_path()  # as the Makefile's
NBVAL = ["--nbval", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
NBVAL += ["--nbval-cell-timeout", "600"]
XDIST_FILES = ["--dist", "loadfile", "--no-loadscope-reorder"]  # as in the Makefile
XDIST_TESTS = ["--dist", "load", "--maxschedchunk", "1"]


def commands(
    jobs: int,
) -> dict[str, tuple[list[list[str]], dict[str, str], Path | None]]:
    """Per part: the commands, extra environment, and the JUnit report it writes."""
    xdist = ["-n", str(jobs)]
    not_site = [f"--ignore={t}" for t in SITE_TESTS]
    pytest = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"]
    return {
        "lint": (
            [
                [str(BIN / "ruff"), "check", "."],
                [str(BIN / "ruff"), "format", "--check", "."],
            ],
            {},
            None,
        ),
        "unit": (
            [
                [*pytest, "tests", *not_site, *xdist, *XDIST_FILES]
                + [f"--junitxml={OUT / 'unit.xml'}"]
            ],
            {},
            OUT / "unit.xml",
        ),
        "nbval": (
            [
                [*pytest, "chapters", *NBVAL, *xdist, *XDIST_FILES]
                + [f"--junitxml={course_infra.NBVAL_XML}"]
                + [
                    "-o",
                    "junit_suite_name=make bench-suite, "
                    + course_infra.env_words(CHECK_FLOAT_PATH),
                ]
            ],
            CHECK_FLOAT_PATH,
            course_infra.NBVAL_XML,
        ),
        "build": (
            [["make", "--no-print-directory", "build-book", f"BOOK_BIN={BIN}"]],
            {},
            None,
        ),
        "site": (
            [
                [*pytest, *SITE_TESTS, *xdist, *XDIST_TESTS]
                + [f"--junitxml={OUT / 'site.xml'}"]
            ],
            {},
            OUT / "site.xml",
        ),
    }


def run_part(name: str, jobs: int) -> dict[str, object]:
    part_commands, extra, report = commands(jobs)[name]
    load = round(os.getloadavg()[0], 1)
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL"}}
    env.update(extra, CI="true", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if name == "build":
        for stale in ("html", ".doctrees", "jupyter_execute"):
            shutil.rmtree(ROOT / "_build" / stale, ignore_errors=True)
    if report is not None:
        report.unlink(missing_ok=True)
    start = time.perf_counter()
    status = 0
    for command in part_commands:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        status = status or done.returncode
        if done.returncode:
            tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
            print("\n".join(f"  {name}: {line}" for line in tail), file=sys.stderr)
    result: dict[str, object] = {
        "part": name,
        "seconds": round(time.perf_counter() - start, 1),
        "ok": status == 0,
        "load_average_before": load,
    }
    if report is not None and report.is_file():
        cases = course_infra.read_junit(report).cases
        for outcome in ("passed", "failed", "skipped"):
            result[outcome] = sum(c.outcome == outcome for c in cases)
        slowest = sorted(cases, key=lambda c: c.seconds, reverse=True)[:5]
        result["slowest"] = [
            [f"{c.classname.rsplit('.', 1)[-1]}::{c.name}", round(c.seconds, 1)]
            for c in slowest
        ]
        if name == "nbval":
            per_notebook: dict[str, float] = {}
            for cell in cases:
                per_notebook[cell.notebook] = (
                    per_notebook.get(cell.notebook, 0.0) + cell.seconds
                )
            result["notebooks"] = len(per_notebook)
            result["slowest"] = [
                [name.rsplit("/", 1)[-1], round(seconds, 1)]
                for name, seconds in sorted(
                    per_notebook.items(), key=lambda kv: kv[1], reverse=True
                )[:5]
            ]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="pytest-xdist workers")
    parser.add_argument(
        "--parts",
        default="lint,unit,nbval,build,site",
        help="comma-separated, in this order: lint, unit, nbval, build, site",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.parts.split(",") if n.strip()]
    known = list(commands(args.jobs))
    if unknown := [n for n in names if n not in known]:
        parser.error(f"unknown part(s) {unknown}; choose from {known}")
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        result = run_part(name, args.jobs)
        results.append(result)
        print(json.dumps(result), flush=True)
    total = sum(float(r["seconds"]) for r in results)
    print(
        json.dumps(
            {
                "total_seconds": round(total, 1),
                "share": {
                    r["part"]: round(float(r["seconds"]) / total, 2) for r in results
                },
                "cpus": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 1),
                "ok": all(r["ok"] for r in results),
            }
        )
    )
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
