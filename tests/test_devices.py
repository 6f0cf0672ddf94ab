"""d2lutil.devices: CUDA first, then Apple MPS, then the CPU; never an empty list."""

from __future__ import annotations

import pytest
import torch

import d2lutil as d2l


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a machine with ``cuda`` CUDA devices and/or an Apple GPU."""

    def make(cuda: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return make


def test_cpu_only(machine):
    machine(cuda=0, mps=False)
    assert d2l.cpu() == torch.device("cpu")
    assert d2l.num_gpus() == 0
    assert d2l.try_gpu() == torch.device("cpu")
    assert d2l.try_gpu(3) == torch.device("cpu")
    assert d2l.try_all_gpus() == [torch.device("cpu")]


def test_gpu_without_gpu_says_what_to_do(machine):
    machine(cuda=0, mps=False)
    with pytest.raises(ValueError, match=r"no GPU 0: torch sees no GPU here.*try_gpu"):
        d2l.gpu(0)
    with pytest.raises(ValueError, match=r"^gpu\(i\) takes the number of a GPU"):
        d2l.gpu(1.5)


def test_cuda_comes_first(machine):
    machine(cuda=2, mps=True)
    assert d2l.num_gpus() == 2
    assert d2l.gpu(1) == torch.device("cuda:1")
    assert d2l.try_gpu() == torch.device("cuda:0")
    assert d2l.try_gpu(5) == torch.device("cpu")
    assert d2l.try_all_gpus() == [torch.device("cuda:0"), torch.device("cuda:1")]
    with pytest.raises(ValueError, match="numbered 0 to 1"):
        d2l.gpu(2)


def test_apple_gpu_when_no_cuda(machine):
    machine(cuda=0, mps=True)
    assert d2l.num_gpus() == 1
    assert d2l.try_gpu() == torch.device("mps")
    assert d2l.try_all_gpus() == [torch.device("mps")]
    assert d2l.try_gpu(1) == torch.device("cpu")


@pytest.mark.parametrize("bad", [-1, 1.0, "0", True])
def test_gpu_index_must_be_a_natural_number(machine, bad):
    machine(cuda=1)
    with pytest.raises(ValueError, match="non-negative integer"):
        d2l.gpu(bad)


def test_trainer_devices_follow_the_machine(machine):
    machine(cuda=0, mps=False)
    assert d2l.Trainer(max_epochs=1, num_gpus=0).gpus == []
    assert d2l.Trainer(max_epochs=1, num_gpus=1).gpus == [torch.device("cpu")]
    machine(cuda=2)
    assert d2l.Trainer(max_epochs=1, num_gpus=1).gpus == [torch.device("cuda:0")]
    assert d2l.Trainer(max_epochs=1, num_gpus=4).gpus == [
        torch.device("cuda:0"),
        torch.device("cuda:1"),
    ]
    machine(cuda=0, mps=True)
    assert d2l.Trainer(max_epochs=1, num_gpus=1).gpus == [torch.device("mps")]


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("cuda", r"torch\.device\('cuda'\)"),
        (None, r"try_gpu\(\) for the first GPU"),
        (torch.device("cpu"), r"use it as it is"),
        (1.5, r"try_gpu\(\) for the first GPU"),
        (-1, r"try_gpu\(\) for the first GPU"),
    ],
)
def test_try_gpu_takes_a_gpu_number_only(machine, bad, hint):
    machine(cuda=1)
    with pytest.raises(ValueError, match=rf"try_gpu\(i\) takes the number .*{hint}"):
        d2l.try_gpu(bad)


def test_numpy_integers_are_gpu_numbers(machine):
    import numpy as np

    machine(cuda=2)
    assert d2l.try_gpu(np.int64(1)) == torch.device("cuda:1")
    assert d2l.gpu(np.int64(0)) == torch.device("cuda:0")
