"""Base: what every other module builds on, importing none of them.

``add_to_class`` and ``HyperParameters`` (Section 3.2) let a class grow one
method at a time and save its constructor's arguments; ``check_hparams``
rejects impossible values of the arguments every chapter uses (learning rates,
batch sizes, epochs). The checks that serve one module live in that module.
"""

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

__all__ = ["add_to_class", "HyperParameters", "check_hparams"]


def add_to_class(Class: type) -> Callable[[Callable], Callable]:
    """Decorator: add the decorated function to ``Class`` as a method (Section 3.2)."""

    def attach(function: Callable) -> Callable:
        setattr(Class, function.__name__, function)
        return function

    return attach


class HyperParameters:
    """Base class that saves a constructor's arguments as attributes (Section 3.2)."""

    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Save the arguments of the calling ``__init__`` as attributes of ``self``.

        ``self.hparams`` keeps them as a dict; arguments in ``ignore`` and those
        starting with ``_`` are skipped; ``check_hparams`` vets the known ones.
        """
        frame = inspect.currentframe().f_back
        args = inspect.getargvalues(frame)
        skip = set(ignore) | {"self"}
        self.hparams = {
            name: args.locals[name]
            for name in args.args
            if name not in skip and not name.startswith("_")
        }
        check_hparams(type(self).__name__, self.hparams)
        for name, value in self.hparams.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        hparams = getattr(self, "hparams", {})
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in hparams.items())
        return f"{type(self).__name__}({args})"


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer, False for a bool (``True`` is not a count)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


_POSITIVE = {"lr": 0.1, "batch_size": 32, "max_epochs": 10, "num_train": 1000}
_NON_NEGATIVE = ("num_gpus", "num_workers", "gradient_clip_val", "num_val", "noise")
_REAL = ("lr", "gradient_clip_val", "noise")


def check_hparams(owner: str, hparams: dict[str, Any]) -> None:
    """Reject impossible hyperparameter values with a clear error (Section 3.2).

    ``lr``, ``batch_size``, ``max_epochs`` and ``num_train`` must be positive;
    ``num_gpus``, ``num_workers``, ``gradient_clip_val``, ``num_val`` and
    ``noise`` non-negative; all but ``lr``, ``gradient_clip_val`` and ``noise``
    integers. ``owner`` names the class in the message.
    """
    for name, value in hparams.items():
        if name not in (*_POSITIVE, *_NON_NEGATIVE):
            continue
        if name not in _REAL and not is_int(value):
            raise TypeError(f"{owner}: {name} must be an integer, got {value!r}.")
        real = is_int(value) or isinstance(value, (float, np.floating))
        if not real or not math.isfinite(value):
            raise TypeError(f"{owner}: {name} must be a finite number, got {value!r}.")
        if name in _POSITIVE and value <= 0:
            raise ValueError(
                f"{owner}: {name} must be positive, got {value!r}; pass a value > 0 "
                f"(for example {name}={_POSITIVE[name]})."
            )
        if name in _NON_NEGATIVE and value < 0:
            raise ValueError(f"{owner}: {name} must be 0 or more, got {value!r}.")


def _short_repr(value: Any) -> str:
    """repr() that keeps big tensors and lists of tensors to one short line."""
    if isinstance(value, torch.Tensor) and value.numel() > 6:
        return f"<tensor of shape {tuple(value.shape)}>"
    if isinstance(value, (list, tuple)) and any(torch.is_tensor(v) for v in value):
        return f"<{len(value)} tensor{'' if len(value) == 1 else 's'}>"
    return repr(value)
