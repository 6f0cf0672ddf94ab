"""Aliases: the framework-neutral names of ``d2l.torch``, so that book code runs.

*Dive into Deep Learning* writes one text for several frameworks and reaches
tensor operations through its package: ``d2l.reshape(X, (-1, 1))``,
``d2l.reduce_sum(X)``, ``class Net(d2l.nn_Module)``. Each name below stands
for one PyTorch call (tests/test_aliases.py checks every one against it).
The modules such code reaches through ``d2l.`` (``plt``, ``np``, ``torch``,
``nn``, ``F``) are here too; all were already imported by the package.
"""

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "plt",
    "np",
    "torch",
    "nn",
    "F",
    "nn_Module",
    # torch's own functions and dtypes, under the same name
    "ones",
    "ones_like",
    "zeros",
    "zeros_like",
    "tensor",
    "arange",
    "meshgrid",
    "sin",
    "sinh",
    "cos",
    "cosh",
    "tanh",
    "linspace",
    "exp",
    "log",
    "normal",
    "rand",
    "randn",
    "matmul",
    "int32",
    "int64",
    "float32",
    "stack",
    "abs",
    "eye",
    "sigmoid",
    # torch's functions under the book's name
    "concat",
    "batch_matmul",
    # tensor methods, spelled as functions of the tensor
    "numpy",
    "size",
    "reshape",
    "to",
    "reduce_sum",
    "reduce_mean",
    "argmax",
    "astype",
    "transpose",
    "expand_dims",
    "swapaxes",
    "repeat",
]

nn_Module = nn.Module

ones = torch.ones
ones_like = torch.ones_like
zeros = torch.zeros
zeros_like = torch.zeros_like
tensor = torch.tensor
arange = torch.arange
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
exp = torch.exp
log = torch.log
normal = torch.normal
rand = torch.rand
randn = torch.randn
matmul = torch.matmul
int32 = torch.int32
int64 = torch.int64
float32 = torch.float32
stack = torch.stack
abs = torch.abs  # the book's name; it shadows the builtin in this module only
eye = torch.eye
sigmoid = torch.sigmoid

concat = torch.cat
batch_matmul = torch.bmm


# Functions of one tensor: d2l.f(x, ...) is x.method(...).
def numpy(x: torch.Tensor, *args: Any, **kwargs: Any) -> np.ndarray:
    """``x`` as a NumPy array (detached, and copied to the CPU when on a GPU)."""
    return x.detach().cpu().numpy(*args, **kwargs)


def size(x: torch.Tensor) -> int:
    """``x.numel()``: the number of elements."""
    return x.numel()


def reshape(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.reshape(...)``."""
    return x.reshape(*args, **kwargs)


def to(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.to(...)``: another device or dtype."""
    return x.to(*args, **kwargs)


def reduce_sum(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.sum(...)``."""
    return x.sum(*args, **kwargs)


def reduce_mean(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.mean(...)``."""
    return x.mean(*args, **kwargs)


def argmax(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.argmax(...)``."""
    return x.argmax(*args, **kwargs)


def astype(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.type(dtype)``: the same values in another dtype."""
    return x.type(*args, **kwargs)


def transpose(x: torch.Tensor) -> torch.Tensor:
    """``x.t()``: the transpose of a matrix."""
    return x.t()


def expand_dims(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.unsqueeze(dim)``: a new axis of length 1."""
    return x.unsqueeze(*args, **kwargs)


def swapaxes(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.swapaxes(axis0, axis1)``."""
    return x.swapaxes(*args, **kwargs)


def repeat(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.repeat(...)``: tile the tensor."""
    return x.repeat(*args, **kwargs)
