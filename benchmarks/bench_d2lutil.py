"""Benchmarks of d2lutil: data loading, training speed and accuracy, progress-board cost.

Run with ``make bench`` (OMP_NUM_THREADS unset, so torch uses its default thread
count, reported as ``threads``). Prints one JSON object per line:

- ``load``: seconds to read and verify Fashion-MNIST (first time in the process);
- ``pass``: one pass over the 235 training batches of 256 (target < 0.5 s);
- ``softmax_scratch``, ``softmax_concise`` (lr 0.1, batch 256; target <= 0.5 s per
  epoch, validation accuracy >= 0.82 after 10 epochs) and ``mlp_scratch``,
  ``mlp_concise`` (256 hidden units, lr 0.1; target <= 1.5 s per epoch,
  accuracy >= 0.84): seconds of every epoch and the final validation accuracy;
- ``board``: what the progress board costs in recording mode, per softmax epoch
  (target <= 5 % of the epoch): the per-point work (Module.plot and
  ProgressBoard.draw) plus the one final figure (drawn and rendered as PNG, as
  recording mode stores it),
  spread over the epochs of a fit.

Each model trains once per seed (default 0, 1, 2): the final validation
accuracy of minibatch SGD at lr 0.1 varies by about +-0.01 from seed to seed,
so one seed says little. ``<model>_summary`` lines give the median epoch time,
the accuracies and whether they meet the targets.

Usage: python benchmarks/bench_d2lutil.py [--epochs N] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Callable

import torch

import d2lutil as d2l


def emit(name: str, **fields) -> None:
    print(
        json.dumps({"bench": name, "threads": torch.get_num_threads(), **fields}),
        flush=True,
    )


def timed(fn: Callable, spent: list[float]) -> Callable:
    """Wrap ``fn`` so that each call's duration is appended to ``spent``."""

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    return wrapper


def accuracy(model: d2l.Classifier, data: d2l.FashionMNIST) -> float:
    """Exact validation accuracy over all 10,000 test images."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in data.val_dataloader():
            correct += int(model.accuracy(model(X), y, averaged=False).sum())
    return correct / len(data.val)


def bench_pass(data: d2l.FashionMNIST, repeats: int = 5) -> None:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        n = sum(1 for _ in data.train_dataloader())
        times.append(time.perf_counter() - start)
    emit("pass", batches=n, batch_size=data.batch_size, seconds=round(min(times), 4),
         all_seconds=[round(t, 4) for t in times])  # fmt: skip


TARGETS = {  # seconds per epoch, validation accuracy after 10 epochs (issue 3)
    "softmax_scratch": (0.5, 0.82),
    "softmax_concise": (0.5, 0.82),
    "mlp_scratch": (1.5, 0.84),
    "mlp_concise": (1.5, 0.84),
}


def bench_model(
    name: str, make: Callable, data: d2l.FashionMNIST, epochs: int, seed: int
) -> dict:
    d2l.seed(seed)
    model = make()
    model.board = d2l.ProgressBoard(mode="record")
    epoch_s: list[float] = []
    plot_s: list[float] = []
    model.plot = timed(model.plot, plot_s)
    trainer = d2l.Trainer(max_epochs=epochs, num_gpus=1)
    trainer.fit_epoch = timed(trainer.fit_epoch, epoch_s)
    model.board.show = lambda: None  # the final figure is measured separately
    trainer.fit(model, data)
    result = {
        "seed": seed,
        "epochs": epochs,
        "epoch_seconds": [round(t, 3) for t in epoch_s],
        "median_epoch_s": round(median(epoch_s), 3),
        "val_acc": round(accuracy(model, data), 4),
        "device": str(trainer.gpus[0] if trainer.gpus else d2l.cpu()),
    }
    emit(name, **result)
    return {"model": model, "epoch_s": epoch_s, "plot_s": plot_s, **result}


def summarize(name: str, runs: list[dict]) -> None:
    max_s, min_acc = TARGETS[name]
    epoch_s = round(median([r["median_epoch_s"] for r in runs]), 3)
    accs = [r["val_acc"] for r in runs]
    emit(
        f"{name}_summary",
        seeds=[r["seed"] for r in runs],
        median_epoch_s=epoch_s,
        val_acc=accs,
        mean_val_acc=round(sum(accs) / len(accs), 4),
        target_epoch_s=max_s,
        target_val_acc=min_acc,
        epoch_s_ok=epoch_s <= max_s,
        val_acc_ok_per_seed=[a >= min_acc for a in accs],
    )


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def bench_board(run: dict, epochs: int) -> None:
    board = run["model"].board
    d2l.use_svg_display()
    start = time.perf_counter()
    fig = board.render()
    fig.savefig(io.BytesIO(), format="png", dpi=120, facecolor="white")
    figure_s = time.perf_counter() - start
    epoch_s = median(run["epoch_s"])
    per_epoch = sum(run["plot_s"]) / epochs + figure_s / epochs
    emit(
        "board",
        mode=board.mode,
        calls_per_epoch=len(run["plot_s"]) // epochs,
        per_point_s_per_epoch=round(sum(run["plot_s"]) / epochs, 4),
        final_figure_s=round(figure_s, 4),
        softmax_epoch_s=round(epoch_s, 3),
        share_of_epoch=round(per_epoch / epoch_s, 4),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[0, 1, 2],
        help="comma-separated seeds; each model trains once per seed (default 0,1,2)",
    )
    args = parser.parse_args()
    emit("env", torch=torch.__version__, omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
         cpus=os.cpu_count(), loadavg=[round(x, 2) for x in os.getloadavg()])  # fmt: skip

    start = time.perf_counter()
    data = d2l.FashionMNIST(batch_size=256)
    emit("load", seconds=round(time.perf_counter() - start, 3), train=len(data.train),
         val=len(data.val))  # fmt: skip
    bench_pass(data)

    models = {
        "softmax_scratch": lambda: d2l.SoftmaxRegressionScratch(784, 10, lr=0.1),
        "softmax_concise": lambda: d2l.SoftmaxRegression(10, lr=0.1),
        "mlp_scratch": lambda: d2l.MLPScratch(784, 10, 256, lr=0.1),
        "mlp_concise": lambda: d2l.MLP(10, 256, lr=0.1),
    }
    first = {}
    for name, make in models.items():
        runs = [bench_model(name, make, data, args.epochs, seed) for seed in args.seeds]
        summarize(name, runs)
        first[name] = runs[0]
    bench_board(first["softmax_scratch"], args.epochs)


if __name__ == "__main__":
    main()
