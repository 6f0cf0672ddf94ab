"""Execute notebooks in place and store one clean top-to-bottom run.

Usage: python scripts/execute_notebook.py chapters/02_preliminaries/2_1_data_manipulation.ipynb [...]

Each notebook runs in its own folder with the ``python3`` kernel of the current
environment, one intra-op thread (as under ``make test``), and no per-cell timing
metadata, so that the stored file changes only when an output does, plus one record of
the run in the notebook's metadata (``stored_run``): when it was made, how long it took,
the versions of Python and the libraries, the device and the CPU's float path. The site's
execution-status page (chapters/status.md, ``_ext/exec_status.py``) shows these records.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import sys
import time
from pathlib import Path

import course_infra
import nbformat
from nbclient import NotebookClient

KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
RECORD_KEY = course_infra.RECORD_KEY  # the notebook metadata key
LIBRARIES = ("torch", "numpy", "pandas", "matplotlib")
# Environment variables that change the float path of MKL and of torch's CPU kernels
# (see README, "Tests"): recorded when set, since they change what a run prints.
FLOAT_PATH_VARS = ("MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY")


def device_name() -> str:
    """The device d2lutil's ``try_gpu()`` picks in this environment, in words."""
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def float_path() -> str:
    """The CPU kernels torch dispatches to, plus any variable that overrides them."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    overrides = [f"{k}={os.environ[k]}" for k in FLOAT_PATH_VARS if os.environ.get(k)]
    return " ".join([f"{platform.machine()} {capability}", *overrides])


def run_record(seconds: float) -> dict[str, object]:
    """What the site's status page shows about a stored run."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "stored": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(seconds, 1),
        "versions": versions,
        "device": device_name(),
        "float_path": float_path(),
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }


def execute(path: Path, timeout: int = 600) -> float:
    """Run ``path`` top to bottom, store its outputs and run record; return the seconds."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata[RECORD_KEY] = run_record(seconds)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    paths = [Path(name) for name in argv]
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(
                f"error: {path} is not a notebook file (expected an existing .ipynb)",
                file=sys.stderr,
            )
            return 2
    for path in paths:
        print(f"executing {path} ...", flush=True)
        seconds = execute(path)
        print(f"stored {path} ({seconds:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
