"""Base: what every other module builds on, importing none of them.

``add_to_class`` and ``HyperParameters`` (Section 3.2) let a class grow one
method at a time and save its constructor's arguments. The ``check_*``
functions turn impossible arguments into one clear error each; they all say
"an integer" the same way (``is_int``: a Python or NumPy integer, not a bool).
"""

import inspect
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

__all__ = [
    "add_to_class", "HyperParameters", "check_hparams", "check_labels", "check_w_b",
    "check_size", "check_params", "check_memory"
]  # fmt: skip


def add_to_class(Class: type) -> Callable:
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


def check_size(size: Any, name: str = "resize") -> tuple[int, int]:
    """Return ``size`` (an int or a pair of ints) as a (height, width) pair of ints."""
    pair = (size, size) if is_int(size) else size
    pairs = isinstance(pair, (tuple, list)) and len(pair) == 2
    if not pairs or not all(is_int(s) and s > 0 for s in pair):
        raise ValueError(
            f"{name} must be a positive integer or a pair of them (height, width), "
            f"got {size!r}; e.g. {name}=(28, 28)."
        )
    return int(pair[0]), int(pair[1])


def check_params(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Return ``params`` as a list, checking that it holds tensors to train (Section 3.4).

    An optimizer needs at least one tensor, and each one created with
    ``requires_grad=True``, or it could never change anything.
    """
    params = list(params)  # a list: a generator could be gone through only once
    if not params or not all(torch.is_tensor(p) and p.requires_grad for p in params):
        raise ValueError(
            "an optimizer needs a non-empty list of tensors created with "
            f"requires_grad=True, got {len(params)} item(s); e.g. SGD([w, b], lr=0.1)."
        )
    return params


def available_memory() -> int | None:
    """Bytes of memory available for new data (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            found = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read(), re.M)
    except OSError:  # not Linux
        return None
    return int(found.group(1)) * 1024 if found else None


def check_memory(num_images: int, resize: Any) -> tuple[int, int]:
    """Refuse up front, with the estimated size, images that will not fit in memory (Section 4.2).

    ``num_images`` float32 images of size ``resize`` (checked by ``check_size``)
    are compared with ``available_memory()``; returns the (height, width) pair.
    """
    size = check_size(resize)
    need, have = num_images * size[0] * size[1] * 4, available_memory()
    if have is not None and need > have:
        raise MemoryError(
            f"{num_images:,} images resized to {size} need about {need / 1e9:.1f} GB, "
            f"but only {have / 1e9:.1f} GB of memory is available; use a smaller "
            "resize (Fashion-MNIST's images are 28 x 28) or a machine with more memory."
        )
    return size


def check_w_b(w: torch.Tensor, b: Any) -> None:
    """Check that ``w`` is a 1-D float weight tensor and ``b`` a single number (Section 3.3)."""
    if not isinstance(w, torch.Tensor) or w.ndim != 1 or len(w) == 0:
        got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
        raise ValueError(
            f"w must be a 1-D tensor of weights, one per feature, got {got}; "
            "e.g. w=torch.tensor([2, -3.4])."
        )
    if not w.dtype.is_floating_point:
        raise TypeError(
            f"w must hold floats, got a {w.dtype} tensor; e.g. w=torch.tensor([2.0, -3.4])."
        )
    if (
        (b.numel() != 1)
        if torch.is_tensor(b)
        else not (is_int(b) or isinstance(b, float))
    ):
        got = f"a tensor of shape {tuple(b.shape)}" if torch.is_tensor(b) else repr(b)
        raise TypeError(f"b must be a single number (the bias), got {got}; e.g. b=4.2.")


# Looking at label values on a GPU waits for the GPU; do it on the first call
# and then every LABEL_CHECK_EVERY calls there (always on the CPU, where it is free).
LABEL_CHECK_EVERY = 100
_label_calls = {"n": 0}


def check_labels(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """Return ``y`` as int64 class indices that fit predictions ``y_hat`` (Section 4.3).

    ``y_hat`` holds one row of scores per label (its last dimension is the
    number of classes); ``y`` must hold as many labels as ``y_hat`` has rows.
    Float labels are accepted when they are whole numbers, as d2l's are.
    Anything else (a 1-D ``y_hat``, counts that differ, labels out of range)
    raises an error that names both shapes.
    """
    shapes = f"predictions {tuple(y_hat.shape)}, labels {tuple(y.shape)}"
    if y_hat.ndim < 2 or y.numel() != y_hat[..., 0].numel():
        raise ValueError(
            f"need one row of class scores per label, got {shapes}; for one example "
            "use y_hat.reshape(1, -1), and check that labels and predictions agree."
        )
    if y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"labels must be class indices, got a {y.dtype} tensor.")
    _label_calls["n"] += 1
    look = y.device.type == "cpu" or _label_calls["n"] % LABEL_CHECK_EVERY == 1
    if look and y.numel() and y.dtype.is_floating_point and (y != y.round()).any():
        raise TypeError("float labels must be whole numbers (class indices).")
    q = y_hat.shape[-1]
    if look and y.numel() and (int(y.min()) < 0 or int(y.max()) >= q):
        raise ValueError(
            f"labels must lie between 0 and {q - 1} (the model has {q} outputs), got "
            f"labels from {int(y.min())} to {int(y.max())}. Check the labels of the "
            "data, or give the model as many outputs as there are classes."
        )
    return y.long()


def _short_repr(value: Any) -> str:
    """repr() that keeps big tensors and lists of tensors to one short line."""
    if isinstance(value, torch.Tensor) and value.numel() > 6:
        return f"<tensor of shape {tuple(value.shape)}>"
    if isinstance(value, (list, tuple)) and any(torch.is_tensor(v) for v in value):
        return f"<{len(value)} tensor{'' if len(value) == 1 else 's'}>"
    return repr(value)
