"""Devices: which CPU or GPU a tensor or a model lives on.

Every notebook runs unchanged on a CPU, a CUDA GPU and an Apple GPU (MPS): the
helpers below pick the device, so no notebook names one. CUDA comes first, then
Apple's MPS, then the CPU.
"""

from numbers import Integral

import torch

__all__ = ["cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus"]


def cpu() -> torch.device:
    """Return the CPU device, where ``Trainer`` trains when there is no GPU."""
    return torch.device("cpu")


def num_gpus() -> int:
    """Return how many GPUs torch can use here: CUDA devices, else 1 for Apple MPS, else 0.

    The device helpers come with ``Trainer(num_gpus=...)`` (Section 3.2).
    """
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return int(torch.backends.mps.is_available())


def gpu(i: int = 0) -> torch.device:
    """Return the ``i``-th GPU: ``cuda:i`` with CUDA, ``mps`` on an Apple GPU.

    Raises a ValueError when there is no such GPU; ``try_gpu(i)`` falls back to
    the CPU instead.
    """
    _check_gpu_index(i, "gpu")
    if torch.cuda.is_available():
        return torch.device(f"cuda:{i}")
    return torch.device("mps")


def try_gpu(i: int = 0) -> torch.device:
    """Return ``gpu(i)`` if that GPU exists, otherwise ``cpu()`` (Section 4.4)."""
    _check_index(i, "try_gpu")
    return gpu(i) if num_gpus() > i else cpu()


def try_all_gpus() -> list[torch.device]:
    """Return every GPU, or ``[cpu()]`` when there is none, never ``[]`` (Section 3.2)."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]


def _check_index(i: object, caller: str) -> None:
    """A GPU's number is an integer from 0: not a name, a device, a float or a bool."""
    if isinstance(i, Integral) and not isinstance(i, bool) and i >= 0:
        return
    if isinstance(i, str):
        hint = f"for a device by its name use torch.device({i!r})"
    elif isinstance(i, torch.device):
        hint = "a torch.device needs no lookup: use it as it is"
    else:
        hint = "or d2l.try_gpu() for the first GPU"
    raise ValueError(
        f"{caller}(i) takes the number of a GPU, a non-negative integer index, got "
        f"{i!r}; e.g. d2l.{caller}(0); {hint}."
    )


def _check_gpu_index(i: int, caller: str) -> None:
    _check_index(i, caller)
    n = num_gpus()
    if i >= n:
        have = "no GPU" if n == 0 else f"{n} GPU(s), numbered 0 to {n - 1}"
        raise ValueError(
            f"there is no GPU {i}: torch sees {have} here. "
            "Use try_gpu(i), which falls back to the CPU, or pick a smaller index."
        )
