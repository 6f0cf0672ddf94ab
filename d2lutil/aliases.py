"""Aliases: the framework-neutral names of ``d2l.torch``, so that book code runs.

*Dive into Deep Learning* writes one text for several frameworks and reaches
tensor operations through its package: ``d2l.reshape(X, (-1, 1))``,
``d2l.reduce_sum(X)``, ``class Net(d2l.nn_Module)``. Each name below stands
for one PyTorch call (tests/test_aliases.py checks every one against it).
The modules such code reaches through ``d2l.`` (``plt``, ``np``, ``torch``,
``nn``, ``F``) are here too; all were already imported by the package.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["plt", "np", "torch", "nn", "F", "nn_Module"]

nn_Module = nn.Module

# Functions and dtypes that are torch's own, under the same or the book's name.
_SAME = (
    "ones ones_like zeros zeros_like tensor arange meshgrid sin sinh cos cosh tanh "
    "linspace exp log normal rand randn matmul int32 int64 float32 stack abs eye sigmoid"
).split()
globals().update({name: getattr(torch, name) for name in _SAME})
concat = torch.cat
batch_matmul = torch.bmm
__all__ += [*_SAME, "concat", "batch_matmul"]


# Functions of one tensor, spelled as calls in the book: d2l.f(x, ...) is x.method(...).
def numpy(x: torch.Tensor, *args, **kwargs):
    """``x`` as a NumPy array (detached, and copied to the CPU when on a GPU)."""
    return x.detach().cpu().numpy(*args, **kwargs)


def _method(name: str):
    def call(x: torch.Tensor, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``x.{name}(*args, **kwargs)``: d2l.torch's spelling as a function."
    return call


_METHODS = {  # d2l.torch's name: the tensor method it calls
    "size": "numel", "reshape": "reshape", "to": "to", "reduce_sum": "sum",
    "reduce_mean": "mean", "argmax": "argmax", "astype": "type", "transpose": "t",
    "expand_dims": "unsqueeze", "swapaxes": "swapaxes", "repeat": "repeat",
}  # fmt: skip
globals().update({alias: _method(method) for alias, method in _METHODS.items()})
__all__ += ["numpy", *_METHODS]
