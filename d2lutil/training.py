"""Training: the object-oriented skeleton of every model in the course.

``HyperParameters`` and ``add_to_class`` (Section 3.2) let a class save its
constructor arguments and grow one method at a time. ``Module`` holds a model,
its loss and its optimizer; ``Trainer`` runs the loop (Sections 3.2 and 3.4).
``SGD`` is the from-scratch optimizer of Section 3.4. ``Timer``, ``Accumulator``
and ``seed`` are small utilities.

Input checks, device moves and the progress display live in private helpers
(names starting with ``_``), so that the methods the chapters teach stay short.
"""

from __future__ import annotations

import inspect
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from .devices import try_all_gpus

__all__ = [
    "HyperParameters",
    "add_to_class",
    "Module",
    "Trainer",
    "SGD",
    "Timer",
    "Accumulator",
    "seed",
    "check_hparams",
]


def add_to_class(Class: type) -> Callable:
    """Decorator: add the decorated function to ``Class`` as a method (Section 3.2).

    It lets a notebook define a class in one cell and its methods in later cells.
    """

    def attach(function: Callable) -> Callable:
        setattr(Class, function.__name__, function)
        return function

    return attach


class HyperParameters:
    """Base class that saves a constructor's arguments as attributes (Section 3.2)."""

    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Save the arguments of the calling ``__init__`` as attributes of ``self``.

        ``self.hparams`` keeps them as a dict. Arguments named in ``ignore`` are
        skipped. Arguments that must be positive (``lr``, ``batch_size``,
        ``max_epochs``, ``num_train``) or non-negative (``num_gpus``,
        ``num_workers``, ``gradient_clip_val``, ``num_val``) are checked here and
        raise a clear error when they are not.
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


class Module(nn.Module, HyperParameters):
    """Base class of the models: network, loss, optimizer, plotting (Section 3.2).

    From-scratch models keep their parameters as plain tensors with
    ``requires_grad=True`` (such as ``self.w``). For them, ``model.to(device)``
    (and ``.double()`` etc.) moves these tensors too, keeping them leaf tensors
    with the same ``requires_grad``, and ``model.parameters()`` yields them after
    the ``nn.Parameter``s; an optimizer made after the move (``fit`` makes it
    after ``prepare_model``) updates them.
    """

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the loss of predictions ``y_hat`` for targets ``y`` (Section 3.2)."""
        raise NotImplementedError("a subclass of Module must define loss(y_hat, y)")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Apply the network ``self.net`` to ``X`` (Section 3.2)."""
        return self.net(X)

    def plot(self, key: str, value: torch.Tensor, train: bool) -> None:
        """Send one value (a loss, an accuracy) to the progress board (Section 3.2)."""
        trainer = self.trainer
        if train:  # x: the epochs done so far, a fraction mid-epoch
            x = trainer.train_batch_idx / trainer.num_train_batches
            every_n = trainer.num_train_batches // self.plot_train_per_epoch
            label = f"train_{key}"
        else:  # validation values belong to the end of the epoch
            x = trainer.epoch + 1
            every_n = trainer.num_val_batches // self.plot_valid_per_epoch
            label = f"val_{key}"
        self.board.xlabel = "epoch"
        self.board.draw(x, value, label, every_n=every_n)

    def training_step(self, batch: list[torch.Tensor]) -> torch.Tensor:
        """Return the loss on one training batch and plot it (Section 3.2)."""
        *inputs, y = batch
        loss = self.loss(self(*inputs), y)
        self.plot("loss", loss, train=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor]) -> None:
        """Plot the loss on one validation batch (Section 3.2)."""
        *inputs, y = batch
        self.plot("loss", self.loss(self(*inputs), y), train=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Return minibatch SGD over the model's parameters (Sections 3.2 and 3.5)."""
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def apply_init(
        self, inputs: list[torch.Tensor], init: Callable | None = None
    ) -> None:
        """Run one forward pass so that lazy layers take their shapes, then apply ``init``.

        ``init`` is called on every submodule (``self.apply(init)``), after the
        lazy layers have their real parameters, so it does initialise them.
        """
        with torch.no_grad():
            self.forward(*inputs)
        _check_no_lazy_parameters(self)
        if init is not None:
            self.apply(init)

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        # Also yield the plain leaf tensors with requires_grad that from-scratch
        # models keep as attributes, so optimizers and clipping see them.
        yield from super().parameters(recurse)
        for value in vars(self).values():
            if (
                isinstance(value, torch.Tensor)
                and value.requires_grad
                and value.is_leaf
            ):
                yield value

    def _apply(self, fn: Callable, recurse: bool = True) -> Module:
        # nn.Module._apply is what .to(), .cuda(), .float() use; extend it to
        # the plain tensor attributes of from-scratch models.
        super()._apply(fn, recurse)
        for name, value in list(vars(self).items()):
            if isinstance(value, torch.Tensor):
                setattr(self, name, _moved_leaf(value, fn))
        return self


class Trainer(HyperParameters):
    """Train a Module on a DataModule (Section 3.2; fit_epoch in Section 3.4).

    ``self.gpus`` lists the devices to train on: the first ``num_gpus`` GPUs
    (CUDA, else Apple MPS). On a machine without a GPU, ``try_all_gpus()`` is
    ``[cpu()]``, so ``num_gpus=1`` quietly trains on the CPU and the same
    notebook runs everywhere; ``num_gpus=0`` always trains on the CPU. The model
    and the batches go to ``self.gpus[0]``, and the data is copied there once
    per ``fit``.
    """

    def __init__(
        self, max_epochs: int, num_gpus: int = 0, gradient_clip_val: float = 0
    ):
        self.save_hyperparameters()
        self.gpus = try_all_gpus()[:num_gpus]

    def prepare_data(self, data: Any) -> None:
        """Ask the data module for its loaders (Section 3.2)."""
        train, val = data.train_dataloader(), data.val_dataloader()
        self.num_train_batches = len(train)
        self.num_val_batches = 0 if val is None else len(val)
        self.train_dataloader, self.val_dataloader = train, val
        self._put_data_on_device()

    def prepare_model(self, model: Module) -> None:
        """Connect the model to this trainer and move it to the GPU if any (Section 3.2)."""
        model.trainer = self  # plot reads the trainer's counters
        model.board.xlim = [0, self.max_epochs]
        self.model = model.to(self.gpus[0]) if self.gpus else model

    def fit(self, model: Module, data: Any) -> None:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs (Section 3.2)."""
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.train_batch_idx = self.val_batch_idx = 0
        for epoch in range(self.max_epochs):
            self.epoch = epoch  # plot and the loss check read it
            self.fit_epoch()
        model.board.show()

    def prepare_batch(self, batch: list[torch.Tensor]) -> list[torch.Tensor]:
        """Move a batch to the training device (Section 3.4)."""
        if not self.gpus:
            return batch
        return [tensor.to(self.gpus[0]) for tensor in batch]

    def fit_epoch(self) -> None:
        """One pass over the training data, then one over the validation data (Section 3.4)."""
        self.model.train()
        for batch in self.train_dataloader:
            self.optim.zero_grad()  # forget the previous minibatch's gradients
            loss = self.model.training_step(self.prepare_batch(batch))
            self._check_loss(loss)
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is not None:
            self.model.eval()
            with torch.no_grad():
                for batch in self.val_dataloader:
                    self.model.validation_step(self.prepare_batch(batch))
                    self.val_batch_idx += 1

    def clip_gradients(self, grad_clip_val: float, model: Module) -> None:
        """Rescale the gradients so that their overall norm is at most ``grad_clip_val``.

        The overall norm treats all gradients as one long vector; it equals the
        norm of the vector of the per-tensor norms.
        """
        grads = [
            p.grad for p in model.parameters() if p.requires_grad and p.grad is not None
        ]
        norm = torch.stack([grad.norm() for grad in grads]).norm()
        if norm > grad_clip_val:
            for grad in grads:
                grad.mul_(grad_clip_val / norm)

    def _put_data_on_device(self) -> None:
        # Copy the loaders' tensors to the training device once per fit, so
        # that prepare_batch's .to() is a no-op; other loaders are left as is.
        if not self.gpus:
            return
        for name in ("train_dataloader", "val_dataloader"):
            loader = getattr(self, name)
            if hasattr(loader, "to"):
                setattr(self, name, loader.to(self.gpus[0]))

    def _check_loss(self, loss: torch.Tensor) -> None:
        if not bool(torch.isfinite(loss.detach()).all()):
            batch = self.train_batch_idx - self.epoch * self.num_train_batches
            raise FloatingPointError(
                f"the training loss became {float(loss.detach().float().mean())} in epoch "
                f"{self.epoch + 1} of {self.max_epochs}, batch {batch + 1} of "
                f"{self.num_train_batches}; training stopped. Usually the learning rate is "
                "too large (try a smaller lr), the inputs are not scaled, or the loss takes "
                "the log of zero."
            )


class SGD(HyperParameters):
    """Minibatch stochastic gradient descent, from scratch (Section 3.4)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float):
        self.save_hyperparameters()
        self.params = list(params)  # a generator could be gone through only once

    @torch.no_grad()
    def step(self) -> None:
        """Move every parameter a step of size ``lr`` against its gradient."""
        for param in self.params:
            param.sub_(self.lr * param.grad)

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


class Timer:
    """Record running times (Section 3.1)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        """Start the timer."""
        self.tik = time.perf_counter()

    def stop(self) -> float:
        """Stop the timer, record the time since ``start`` and return it."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        """Return the average recorded time."""
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        """Return the sum of the recorded times."""
        return sum(self.times)

    def cumsum(self) -> list[float]:
        """Return the running totals of the recorded times."""
        return np.cumsum(self.times).tolist()

    def __repr__(self) -> str:
        return f"Timer({len(self.times)} times recorded)"


class Accumulator:
    """Sum ``n`` running totals (such as correct predictions and examples seen)."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        """Add one value to each total."""
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        """Set every total back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]

    def __repr__(self) -> str:
        return f"Accumulator({self.data})"


def seed(s: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators (all devices)."""
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)


# ---------------------------------------------------------------- helpers

_POSITIVE = ("lr", "batch_size", "max_epochs", "num_train")
_NON_NEGATIVE = ("num_gpus", "num_workers", "gradient_clip_val", "num_val")
_INTEGER = (
    "batch_size",
    "max_epochs",
    "num_train",
    "num_val",
    "num_gpus",
    "num_workers",
)


def check_hparams(owner: str, hparams: dict[str, Any]) -> None:
    """Reject impossible hyperparameter values with a clear error (Section 3.2).

    ``lr``, ``batch_size``, ``max_epochs`` and ``num_train`` must be positive; ``num_gpus``,
    ``num_workers``, ``gradient_clip_val`` and ``num_val`` non-negative; counts integers.
    ``owner`` names the class in the message.
    """
    for name, value in hparams.items():
        if name not in _POSITIVE + _NON_NEGATIVE:
            continue
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        is_real = is_int or isinstance(value, (float, np.floating))
        if name in _INTEGER and not is_int:
            raise TypeError(f"{owner}: {name} must be an integer, got {value!r}.")
        if not is_real or math.isnan(value) or math.isinf(value):
            raise TypeError(f"{owner}: {name} must be a finite number, got {value!r}.")
        if name in _POSITIVE and value <= 0:
            raise ValueError(
                f"{owner}: {name} must be positive, got {value!r}; pass a value > 0 "
                f"(for example {name}={_EXAMPLES[name]})."
            )
        if name in _NON_NEGATIVE and value < 0:
            raise ValueError(f"{owner}: {name} must be 0 or more, got {value!r}.")


_EXAMPLES = {"lr": 0.1, "batch_size": 32, "max_epochs": 10, "num_train": 1000}


def _short_repr(value: Any) -> str:
    """repr() that keeps big tensors and lists of tensors to one short line."""
    if isinstance(value, torch.Tensor) and value.numel() > 6:
        return f"<tensor of shape {tuple(value.shape)}>"
    if isinstance(value, (list, tuple)) and any(
        isinstance(v, torch.Tensor) for v in value
    ):
        return f"<{len(value)} tensor{'' if len(value) == 1 else 's'}>"
    return repr(value)


def _moved_leaf(value: torch.Tensor, fn: Callable) -> torch.Tensor:
    """Apply ``fn`` (a device or dtype move) to a tensor, keeping it a leaf."""
    with torch.no_grad():
        moved = fn(value)
    if moved is value:
        return value
    moved = moved.detach().requires_grad_(value.requires_grad)
    if value.grad is not None:
        moved.grad = fn(value.grad)
    return moved


def _check_no_lazy_parameters(model: nn.Module) -> None:
    lazy = [
        name
        for name, p in model.named_parameters()
        if isinstance(p, nn.parameter.UninitializedParameter)
    ]
    if lazy:
        raise RuntimeError(
            f"apply_init: after a forward pass these parameters are still uninitialised: "
            f"{', '.join(lazy)}. Their layers were not used by forward(); pass inputs "
            "that reach every lazy layer."
        )


# ProgressBoard subclasses HyperParameters (defined above), so it is imported
# after it; the package imports this module before plotting.
from .plotting import ProgressBoard  # noqa: E402
