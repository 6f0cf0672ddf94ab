"""nbval over every notebook on several CPU float paths, several times: is any output fragile?

Usage: python benchmarks/float_paths.py [--runs N] [--paths native,check,compatible,avx2]
       (`make float-paths`)

The stored outputs come from the native float path of the machine that ran ``make outputs``.
Another CPU rounds some operations differently; these environment variables imitate that on
one machine (see README, "Tests"):

- ``native``: no override;
- ``check``: what ``make test`` checks on, ``course_infra.check_float_path()``
  (``MKL_CBWR=AVX2 ATEN_CPU_CAPABILITY=default`` on an Intel CPU with AVX-512);
- ``compatible``: ``MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default``, the path furthest from
  any native one (``make test`` uses it on CPUs without AVX-512);
- ``avx2``: ``MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2``, a CPU without AVX-512.

Prints one JSON line per run (path, run, passed, failed, seconds, failed cells) and a last line
with the totals. Exit status 1 if any cell failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_infra  # noqa: E402

PATHS = {
    "native": {},
    "check": course_infra.check_float_path(),
    "compatible": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
}
OVERRIDES = {k for env in PATHS.values() for k in env}


def nbval(env_extra: dict[str, str], jobs: int) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    env.update(env_extra, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [
        sys.executable, "-m", "pytest", "chapters", "--nbval", "-q", "-p", "no:cacheprovider",
        "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-n", str(jobs), "--dist", "loadfile",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    counts = dict.fromkeys(("passed", "failed"), 0)
    for number, word in re.findall(
        r"(\d+) (passed|failed)", done.stdout.splitlines()[-1]
    ):
        counts[word] = int(number)
    failed = re.findall(r"^FAILED (\S+)", done.stdout, flags=re.M)
    return {**counts, "seconds": round(seconds, 1), "failed_cells": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per float path")
    parser.add_argument(
        "--paths", default=",".join(PATHS), help="comma-separated: " + ", ".join(PATHS)
    )
    parser.add_argument("--jobs", type=int, default=2, help="pytest-xdist workers")
    args = parser.parse_args()
    names = [n.strip() for n in args.paths.split(",") if n.strip()]
    unknown = [n for n in names if n not in PATHS]
    if unknown or args.runs < 1:
        parser.error(
            f"unknown float path(s) {unknown}; choose from {list(PATHS)}; runs >= 1"
        )
    total_failed = 0
    for name in names:
        for run in range(1, args.runs + 1):
            result = nbval(PATHS[name], args.jobs)
            total_failed += int(result["failed"])
            print(json.dumps({"path": name, "run": run, **result}), flush=True)
    print(
        json.dumps({"runs": args.runs * len(names), "failed_cells_total": total_failed})
    )
    return 1 if total_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
