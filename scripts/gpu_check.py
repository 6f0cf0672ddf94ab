"""Run every training notebook on a CUDA GPU and check that training really used it.

Usage (on a machine with a CUDA build of PyTorch and a GPU):

    python scripts/gpu_check.py                 # every notebook that calls .fit(
    python scripts/gpu_check.py chapters/04_softmax_regression/4_4_*.ipynb

Each notebook is executed unchanged (with nbclient, outputs are not stored) after one
injected cell that wraps ``d2l.Trainer.fit``: for every ``fit`` it records the devices
of the model's parameters after training and of every input batch the model saw, and
the wall-clock time of every epoch (synchronising the GPU around each). The script
fails unless all of them were on the GPU, and prints per-epoch times and the final
values of the progress board (losses, accuracies) of every ``fit``.

``--allow-cpu`` runs the same checks with the CPU as the expected device; it exists so
that the script itself can be tested on machines without a GPU.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from course_infra import training_notebooks  # the notebooks that call .fit(

ROOT = Path(__file__).resolve().parents[1]
MARKER = "GPU_CHECK_RECORDS "

PROBE = """
import json as _json, time as _time
import torch as _torch
import d2lutil as _d2l

_gpu_check_records = []
_gpu_check_fit = _d2l.Trainer.fit


def _gpu_check_sync():
    if _torch.cuda.is_available():
        _torch.cuda.synchronize()


def _gpu_check_wrapped_fit(self, model, data):
    record = {"model": type(model).__name__, "epoch_s": [], "inputs": set()}
    epoch = self.fit_epoch  # the method as the notebook defined it

    def timed_epoch():
        _gpu_check_sync()
        start = _time.perf_counter()
        epoch()
        _gpu_check_sync()
        record["epoch_s"].append(_time.perf_counter() - start)

    def see_inputs(module, args):
        record["inputs"].update(str(a.device) for a in args if _torch.is_tensor(a))

    self.fit_epoch = timed_epoch
    hook = model.register_forward_pre_hook(see_inputs)
    try:
        _gpu_check_fit(self, model, data)
    finally:
        hook.remove()
        del self.fit_epoch
    record["inputs"] = sorted(record["inputs"])
    record["params"] = sorted({str(p.device) for p in model.parameters()})
    board = getattr(getattr(model, "board", None), "data", {})
    record["final"] = {k: round(float(v[-1][1]), 4) for k, v in board.items() if v}
    _gpu_check_records.append(record)


_d2l.Trainer.fit = _gpu_check_wrapped_fit
"""

REPORT = f"print({MARKER!r} + _json.dumps(_gpu_check_records))"


def run_notebook(path: Path, timeout: int) -> list[dict]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code + 1, nbformat.v4.new_code_cell(PROBE))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    client.execute()
    for output in nb.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
    raise RuntimeError(f"{path.name}: the report cell printed nothing")


def check(records: list[dict], device_type: str) -> list[str]:
    problems = []
    if not records:
        problems.append("no Trainer.fit ran")
    for k, r in enumerate(records, 1):
        where = f"fit {k} ({r['model']})"
        if not r["params"] or any(not d.startswith(device_type) for d in r["params"]):
            problems.append(f"{where}: parameters on {r['params']}, not {device_type}")
        if not r["inputs"] or any(not d.startswith(device_type) for d in r["inputs"]):
            problems.append(f"{where}: batches on {r['inputs']}, not {device_type}")
        if not r["epoch_s"]:
            problems.append(f"{where}: no epoch ran")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--allow-cpu", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=1800, help="per cell, seconds")
    args = parser.parse_args(argv)

    import torch

    if args.allow_cpu:
        device_type = "cpu"
    elif not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False; torch "
            f"{torch.__version__}, built for CUDA {torch.version.cuda or 'no: a CPU build'})."
            " Run this script on a machine with a CUDA GPU and a CUDA build of PyTorch.",
            file=sys.stderr,
        )
        return 2
    else:
        device_type = "cuda"
        print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    os.environ.setdefault("D2LUTIL_BOARD", "record")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    notebooks = args.notebooks or training_notebooks()
    failures = 0
    for path in notebooks:
        start = time.perf_counter()
        records = run_notebook(path.resolve(), args.timeout)
        problems = check(records, device_type)
        status = "ok" if not problems else "FAILED"
        print(f"\n{path.name}: {status} ({time.perf_counter() - start:.0f} s)")
        for k, r in enumerate(records, 1):
            epochs = ", ".join(f"{s:.2f}" for s in r["epoch_s"])
            final = ", ".join(f"{name} {value}" for name, value in r["final"].items())
            print(f"  fit {k} {r['model']}: epochs [{epochs}] s; {final}")
        for problem in problems:
            print(f"  problem: {problem}")
        failures += bool(problems)
    print(
        f"\n{len(notebooks) - failures} of {len(notebooks)} notebooks trained on {device_type}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
