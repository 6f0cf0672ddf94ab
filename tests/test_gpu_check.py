"""scripts/gpu_check.py: what can be checked without a GPU (it is untested on one here)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.py"
spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


def run(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_refuses_clearly_without_cuda():
    result = run()
    assert result.returncode == 2
    assert "no CUDA GPU here" in result.stderr
    assert "CUDA build of PyTorch" in result.stderr
    assert result.stdout == ""


def test_finds_the_training_notebooks():
    names = {p.name for p in gpu_check.training_notebooks()}
    assert "4_4_softmax_regression_scratch.ipynb" in names
    assert "5_2_mlp_implementation.ipynb" in names
    assert "2_1_data_manipulation.ipynb" not in names


def test_check_flags_parameters_or_batches_off_the_device():
    good = {
        "model": "MLP",
        "params": ["cuda:0"],
        "inputs": ["cuda:0"],
        "epoch_s": [1.0],
    }
    assert gpu_check.check([good], "cuda") == []
    moved = dict(good, inputs=["cpu", "cuda:0"])
    assert gpu_check.check([moved], "cuda") == [
        "fit 1 (MLP): batches on ['cpu', 'cuda:0'], not cuda"
    ]
    assert gpu_check.check([dict(good, params=["cpu"])], "cuda")[0].startswith(
        "fit 1 (MLP): parameters on ['cpu']"
    )
    assert gpu_check.check([], "cuda") == ["no Trainer.fit ran"]


def test_the_probe_records_every_fit_of_a_notebook_on_the_cpu():
    notebook = (
        ROOT / "chapters/03_linear_regression/3_5_linear_regression_concise.ipynb"
    )
    result = run("--allow-cpu", str(notebook))
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "3_5_linear_regression_concise.ipynb: ok" in result.stdout
    assert "fit 1 LinearRegression: epochs [" in result.stdout
    assert "1 of 1 notebooks trained on cpu" in result.stdout
