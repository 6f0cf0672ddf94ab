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


def _method(name: str, doc: str):
    def call(x: torch.Tensor, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)

    call.__name__, call.__doc__ = name, f"{doc}: ``x.{name}(...)``."
    return call


size = _method("numel", "The number of entries of x")
reshape = _method("reshape", "x with a new shape")
to = _method("to", "x on another device or with another dtype")
reduce_sum = _method("sum", "The sum of x's entries")
reduce_mean = _method("mean", "The mean of x's entries")
argmax = _method("argmax", "The index of x's largest entry")
astype = _method("type", "x converted to a dtype")
transpose = _method("t", "The transpose of a matrix x")
expand_dims = _method("unsqueeze", "x with a new axis of length 1")
swapaxes = _method("swapaxes", "x with two axes exchanged")
repeat = _method("repeat", "x tiled along each axis")
__all__ += "numpy size reshape to reduce_sum reduce_mean argmax astype".split()
__all__ += "transpose expand_dims swapaxes repeat".split()
