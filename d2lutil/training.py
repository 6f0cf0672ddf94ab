"""Training: the model and the loop that every chapter trains with.

``Module`` holds a model, its loss and its optimizer; ``Trainer`` runs the loop
(Sections 3.2 and 3.4). ``SGD`` is the from-scratch optimizer of Section 3.4.
``Timer``, ``Accumulator`` and ``seed`` are small utilities.
"""

from __future__ import annotations

import inspect
import itertools
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from .base import HyperParameters, is_init, is_int
from .devices import try_all_gpus
from .plotting import ProgressBoard

__all__ = ["Module", "Trainer", "SGD", "Timer", "seed", "check_params", "Accumulator"]

# The training loss is checked on its device; it is looked at (one wait for
# the GPU) every LOSS_CHECK_EVERY batches and at the end of every epoch.
LOSS_CHECK_EVERY = 50


class Module(nn.Module, HyperParameters):
    """Base class of the models: network, loss, optimizer, plotting (Section 3.2).

    From-scratch models create their parameters as tensors with
    ``requires_grad=True`` (``self.w = torch.normal(0, 0.01, (2, 1),
    requires_grad=True)``, Section 3.4). Assigned to a Module, such a leaf tensor
    becomes an ``nn.Parameter`` in place: ``model.w`` is still the tensor the
    code made, and ``parameters()``, ``named_parameters()``, ``state_dict()``,
    ``load_state_dict()`` and ``.to(device)`` treat it as they treat the
    parameters of PyTorch's layers. Replacing a parameter by a tensor that
    cannot be trained (not a leaf, or without ``requires_grad``) raises an error
    that names the attribute and shows the in-place update to use instead.
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
        self, inputs: list[torch.Tensor], init: Callable[[nn.Module], Any] | None = None
    ) -> None:
        """Run one forward pass so that lazy layers take their shapes, then apply ``init``.

        ``init`` is called on every submodule (``self.apply(init)``), after the
        lazy layers have their real parameters, so it does initialise them.
        ``inputs`` is the list of the forward pass's arguments, usually ``[X]``.
        """
        if torch.is_tensor(inputs) or not isinstance(inputs, (list, tuple)):
            got = "a tensor" if torch.is_tensor(inputs) else _described(inputs)
            raise TypeError(
                f"apply_init(inputs, init) takes a list of the inputs of forward, got "
                f"{got}; put it in a list, e.g. model.apply_init([X], init)."
            )
        with torch.no_grad():
            self.forward(*inputs)
        uninitialized = nn.parameter.UninitializedParameter
        lazy = [n for n, p in self.named_parameters() if isinstance(p, uninitialized)]
        if lazy:
            raise RuntimeError(
                "apply_init: after a forward pass these parameters are still "
                f"uninitialised: {', '.join(lazy)}. Their layers were not used by "
                "forward(); pass inputs that reach every lazy layer."
            )
        if init is not None:
            self.apply(init)

    # It reads its caller's frame: a mutation tester must not wrap it in a function.
    # pragma: no mutate start
    def __setattr__(self, name: str, value: Any) -> None:
        # A leaf tensor that requires grad becomes an nn.Parameter, in place (the
        # same tensor object), so that parameters(), named_parameters(),
        # state_dict(), .to() and the optimizers see it (see the class docstring).
        # Assignments that would leave a parameter untrainable get a clear error.
        if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter):
            if value.requires_grad and value.is_leaf:
                value = _as_parameter(value)
            else:
                _check_assignment(self, name, value, inspect.currentframe().f_back)
        if isinstance(value, nn.Parameter) and "_parameters" not in vars(self):
            raise AttributeError(
                f"{type(self).__name__}.__init__ assigns the parameter {name} before "
                "calling super().__init__(); call super().__init__() first, e.g. "
                "def __init__(self, lr): super().__init__(); self.save_hyperparameters()"
            )
        super().__setattr__(name, value)

    # pragma: no mutate end

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: ``trainer`` is set by Trainer.fit.
        if name == "trainer":
            raise AttributeError(
                f"{type(self).__name__} is not attached to a Trainer: plot(), and so "
                "training_step() and validation_step(), read the trainer's counters. "
                "Train it with a trainer, e.g. d2l.Trainer(max_epochs=3).fit(model, "
                "data), or compute a loss without plotting: model.loss(model(X), y)."
            )
        return super().__getattr__(name)


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
        """Ask the data module for its loaders and count their batches (Section 3.2)."""
        train, val = data.train_dataloader(), data.val_dataloader()
        self.num_train_batches = len(train)
        self.num_val_batches = 0 if val is None else len(val)
        if self.gpus:  # in-memory loaders copy their tensors to the device once
            train, val = (
                x.to(self.gpus[0]) if hasattr(x, "to") else x for x in (train, val)
            )
        self.train_dataloader, self.val_dataloader = train, val

    def prepare_model(self, model: Module) -> None:
        """Connect the model to this trainer and move it to the GPU if any (Section 3.2)."""
        model.trainer = self  # plot reads the trainer's counters
        model.board.xlim = [0, self.max_epochs]
        self.model = model.to(self.gpus[0]) if self.gpus else model

    def fit(self, model: Module, data: Any) -> None:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs (Section 3.2)."""
        self.check_fit(model, data)  # a clear error now rather than a puzzle later
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.check_setup()  # the loaders, the data and the optimizer, before a step
        self.train_batch_idx = self.val_batch_idx = 0
        for epoch in range(self.max_epochs):
            self.epoch = epoch  # plot and check_loss read it
            self.fit_epoch()
        if hasattr(model.board, "show"):  # any board will do; ours shows its figure
            model.board.show()

    def check_fit(self, model: Module, data: Any) -> None:
        """Refuse, with an error that says what to change, a model that cannot train.

        ``fit`` calls it first, before anything runs: the arguments must be a
        model (a ``Module`` instance whose ``__init__`` called
        ``super().__init__()``) and a data module, in that order; the model's
        parameters must be finite (a model left with ``nan`` by a fit that
        diverged must be created again). A float tensor attribute that does not
        require grad is one that training would never change (a forgotten
        ``requires_grad=True``) or a constant that ``.to(device)`` would not
        move: both are errors. A leaf given ``requires_grad_()`` after its
        assignment is registered as a parameter now.
        """
        _check_fit_arguments(model, data)
        owner = type(model).__name__
        hparams = getattr(model, "hparams", {})
        for name, value in list(vars(model).items()):
            if not isinstance(value, torch.Tensor) or name in hparams:
                continue
            if value.requires_grad and value.is_leaf:
                setattr(model, name, value)  # Module.__setattr__ registers it
            elif value.dtype.is_floating_point and not value.requires_grad:
                raise TypeError(
                    f"{owner}.{name} is a float tensor that does not require grad, so "
                    "training would never change it. If it is a parameter, create it "
                    f"with requires_grad=True, e.g. self.{name} = "
                    f"torch.zeros({tuple(value.shape)}, requires_grad=True); if it is "
                    "a constant, register it as a buffer, which .to(device) moves "
                    f"too: self.register_buffer('{name}', tensor)."
                )
        params = list(model.named_parameters())
        if not params:
            raise ValueError(
                f"{owner} has no parameters to train: create its weights with "
                "requires_grad=True, e.g. self.w = torch.normal(0, 0.01, (2, 1), "
                "requires_grad=True), or use layers such as nn.LazyLinear(1)."
            )
        broken = [n for n, p in params if not _finite(p)]
        if broken:
            raise ValueError(
                f"{owner}'s parameters {', '.join(broken)} hold nan or inf, left by a "
                "fit that diverged; training cannot bring them back. Create the model "
                f"again before training it, e.g. model = {_remade(model)}, with a "
                "smaller lr."
            )

    def check_setup(self) -> None:
        """Refuse, with an error that says what to change, data or an optimizer that cannot train.

        ``fit`` calls it once the loaders, the model and its optimizer are
        ready: ``configure_optimizers`` must have returned an optimizer, the
        training data must hold examples, and every number in the in-memory
        data (``TensorLoader`` or ``TensorDataset``) must be finite. A model
        that records ``num_inputs`` must get examples of that many numbers (float
        inputs: integer inputs are token indices, of another size).
        """
        owner = type(self.model).__name__
        if not (hasattr(self.optim, "step") and hasattr(self.optim, "zero_grad")):
            raise TypeError(
                f"{owner}.configure_optimizers() returned {_described(self.optim)}; it "
                "must return the optimizer (a forgotten return?), e.g. "
                "return d2l.SGD([self.w, self.b], lr=self.lr)."
            )
        if self.num_train_batches == 0:
            raise ValueError(
                "the training data holds no examples (train_dataloader() gives 0 "
                "batches), so fit would train nothing; check how the data module "
                "selects its training examples, e.g. num_train=1000."
            )
        loaders = {"training": self.train_dataloader, "validation": self.val_dataloader}
        for split, loader in loaders.items():
            for i, tensor in enumerate(_in_memory_tensors(loader)):
                _check_finite_data(tensor, split, i)
        num_inputs = getattr(self.model, "hparams", {}).get("num_inputs")
        first = next(iter(_in_memory_tensors(self.train_dataloader)), None)
        features_in = first is not None and first.dtype.is_floating_point  # not tokens
        if is_int(num_inputs) and features_in and first.ndim > 0:
            features = first[0].numel() if len(first) else num_inputs
            if features != num_inputs:
                raise ValueError(
                    f"{owner} was built for num_inputs={num_inputs} numbers per example, "
                    f"but the training examples have {features} (inputs of shape "
                    f"{tuple(first.shape)}); build it for the data, e.g. "
                    f"{owner}(num_inputs={features}, ...)."
                )

    def prepare_batch(self, batch: list[torch.Tensor]) -> list[torch.Tensor]:
        """Move a batch to the training device (Section 3.4)."""
        if not self.gpus:
            return batch
        return [tensor.to(self.gpus[0]) for tensor in batch]

    def fit_epoch(self) -> None:
        """Update the model on every training batch, then score every validation batch (Section 3.4)."""
        self.model.train()
        for batch in map(self.prepare_batch, self.train_dataloader):
            loss = self.model.training_step(batch)
            self.check_loss(loss)
            self.optim.zero_grad()  # the gradient of this batch only
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        with torch.no_grad():  # scoring needs no gradients
            for batch in map(self.prepare_batch, self.val_dataloader):
                self.model.validation_step(batch)
                self.val_batch_idx += 1

    def clip_gradients(self, grad_clip_val: float, model: Module) -> None:
        """Rescale the gradients so that their overall norm is at most ``grad_clip_val``.

        The overall norm treats all gradients as one long vector; PyTorch's
        ``clip_grad_norm_`` computes it and scales every gradient by the same
        factor. Parameters without a gradient are left alone.
        """
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip_val)

    def check_loss(self, loss: torch.Tensor) -> None:
        """Stop training with a clear error, naming epoch and batch, once the loss is not finite.

        The loss must be what ``training_step`` returns: one number in a tensor
        that requires grad. On the CPU, looking at it costs nothing, so training
        stops at the first batch whose loss is not finite, before the optimizer
        takes a step with it. On a GPU, looking waits for the GPU, so the losses
        stay there and are looked at together every ``LOSS_CHECK_EVERY``
        batches and at the end of each epoch; the error still names the first
        bad batch.
        """
        _check_returned_loss(type(self.model).__name__, loss)
        batch = self.train_batch_idx - self.epoch * self.num_train_batches
        if _looked_at_once(loss):
            if not torch.isfinite(loss.detach()).all():
                _stop_training(self, float(loss.detach()), batch + 1)
            return
        if batch == 0:
            self.unchecked_losses = []
        self.unchecked_losses.append(loss.detach().float().mean())
        last = batch + 1 == self.num_train_batches
        if len(self.unchecked_losses) < LOSS_CHECK_EVERY and not last:
            return
        losses = torch.stack(self.unchecked_losses).cpu()
        self.unchecked_losses = []
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            first = int(bad[0])
            _stop_training(self, float(losses[first]), batch + 2 - len(losses) + first)


def check_params(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Return ``params`` as a list, checking that it holds tensors to train (Section 3.4).

    An optimizer needs a list (or any iterable, such as ``model.parameters()``)
    of at least one tensor, each a leaf created with ``requires_grad=True``,
    each once: a computed tensor never gets a ``.grad``, and a tensor listed
    twice would be stepped twice.
    """
    example = "e.g. SGD([w, b], lr=0.1) or SGD(model.parameters(), lr=0.1)"
    if torch.is_tensor(params):
        raise TypeError(
            f"an optimizer needs a list of tensors, got a single tensor of shape "
            f"{tuple(params.shape)}, which it would split into its rows; put it in a "
            f"list, e.g. SGD([w], lr=0.1)."
        )
    params = list(params)  # a list: a generator could be gone through only once
    if not params:
        raise ValueError(
            f"an optimizer needs at least one tensor to train, got none; {example}."
        )
    for i, p in enumerate(params):
        where = f"item {i} of the optimizer's list"
        if not torch.is_tensor(p):
            raise TypeError(f"{where} is {_described(p)}, not a tensor; {example}.")
        shape = tuple(p.shape)
        if not p.requires_grad:
            raise ValueError(
                f"{where}, a tensor of shape {shape}, does not require grad, so it never "
                f"gets a gradient; create it with requires_grad=True, e.g. "
                f"w = torch.zeros({shape}, requires_grad=True)."
            )
        if not p.is_leaf:
            raise ValueError(
                f"{where}, a tensor of shape {shape}, is computed from another tensor "
                "(not a leaf), so its .grad stays None and a step would change "
                "nothing; pass the tensor created with requires_grad=True, e.g. "
                "SGD([w], lr=0.1) rather than SGD([w * 1.0], lr=0.1)."
            )
        if any(p is q for q in params[:i]):
            first = next(j for j, q in enumerate(params) if q is p)
            raise ValueError(
                f"items {first} and {i} of the optimizer's list are the same tensor, "
                f"which every step would update twice; list each tensor once, {example}."
            )
    return params


class SGD(HyperParameters):
    """Minibatch stochastic gradient descent, from scratch (Section 3.4)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float):
        self.save_hyperparameters()
        self.params = check_params(params)

    @torch.no_grad()
    def step(self) -> None:
        """Move every parameter a step of size ``lr`` against its gradient."""
        for param in self.params:
            if param.grad is not None:  # as in torch.optim.SGD: no gradient, no step
                param.sub_(self.lr * param.grad)

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


class Timer:
    """A stopwatch that keeps every lap: ``start()``, then ``stop()`` (Section 3.1)."""

    def __init__(self) -> None:
        self.times: list[float] = []  # one entry per stop(), in seconds
        self.start()

    def start(self) -> None:
        """Begin a new lap now."""
        self.began = time.perf_counter()

    def stop(self) -> float:
        """End the lap, keep its length in ``times`` and return it."""
        self.times.append(time.perf_counter() - self.began)
        return self.times[-1]

    def avg(self) -> float:
        """The mean lap."""
        if not self.times:
            raise ValueError(
                "Timer.avg(): no lap recorded yet; call stop() first, e.g. "
                "timer = d2l.Timer(); ...; timer.stop(); timer.avg()."
            )
        return self.sum() / len(self.times)

    def sum(self) -> float:
        """The total of all laps."""
        return float(np.sum(self.times))

    def cumsum(self) -> list[float]:
        """The time elapsed at the end of each lap."""
        return list(itertools.accumulate(self.times))

    def __repr__(self) -> str:
        return f"Timer({len(self.times)} times recorded)"


class Accumulator:
    """Running sums of ``n`` quantities, such as a loss, a count of correct predictions, a count.

    The counter of training loops written for earlier editions of *Dive into
    Deep Learning*: ``metric = Accumulator(3)``, then per batch
    ``metric.add(loss_sum, num_correct, num_examples)``, and at the end
    ``metric[0] / metric[2]``. Values may be numbers or one-element tensors
    (read with ``float``); ``add`` needs exactly ``n`` of them.
    """

    def __init__(self, n: int) -> None:
        if not is_int(n) or n < 1:
            raise ValueError(
                f"Accumulator(n) needs the number of sums to keep, a positive integer, "
                f"got {n!r}; e.g. Accumulator(3) for loss, correct and count."
            )
        self.data = [0.0] * n

    def add(self, *values: float | torch.Tensor) -> None:
        """Add one value to each sum, in order."""
        if len(values) != len(self.data):
            raise ValueError(
                f"Accumulator.add needs {len(self.data)} values, one per sum, got "
                f"{len(values)}; e.g. metric.add(loss_sum, num_correct, num_examples)."
            )
        self.data = [
            total + float(v.detach() if torch.is_tensor(v) else v)
            for total, v in zip(self.data, values, strict=True)
        ]

    def reset(self) -> None:
        """Set every sum back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, index: int) -> float:
        return self.data[index]

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Accumulator({self.data})"


def seed(s: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators (all devices).

    ``s`` must suit all three (an integer from 0 to 2**32 - 1); it is checked
    before any generator is reseeded, so a bad seed changes none of them.
    """
    if not is_int(s) or not 0 <= s < 2**32:
        raise ValueError(
            f"seed(s) needs an integer from 0 to 2**32 - 1, the seeds that Python, "
            f"NumPy and PyTorch all accept, got {s!r}; e.g. d2l.seed(0)."
        )
    s = int(s)  # a NumPy integer too: Python's random.seed takes only int
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)


def _as_parameter(tensor: torch.Tensor) -> nn.Parameter:
    """``tensor`` (a leaf that requires grad) as an ``nn.Parameter``: the same object.

    A plain tensor changes class in place, as PyTorch's own lazy parameters do
    when they are materialised, so that every reference to it (``self.w``, a
    list the model keeps) is the parameter; other tensor types are wrapped.
    """
    if type(tensor) is torch.Tensor:
        tensor.__class__ = nn.Parameter
        return tensor
    return nn.Parameter(tensor)


def _check_assignment(
    module: nn.Module, name: str, value: torch.Tensor, caller: Any
) -> None:
    """Refuse a tensor that would leave a parameter of ``module`` untrainable.

    A registered parameter replaced by a computed tensor or one without
    ``requires_grad`` would stop training; a tensor computed from one that
    requires grad, assigned in ``__init__``, is the slip
    ``torch.randn(..., requires_grad=True) * 0.01``: not a leaf, so its
    ``.grad`` stays empty. Other tensors (a cached activation) are left alone.
    """
    owner, shape = type(module).__name__, tuple(value.shape)
    in_init = caller is not None and is_init(caller.f_code)
    is_parameter = name in module.__dict__.get("_parameters", {})
    if value.requires_grad and in_init:
        raise ValueError(
            f"{owner}.{name} is computed from a tensor that requires grad (as in "
            "torch.randn(..., requires_grad=True) * 0.01), so it is not a leaf: its "
            ".grad stays None and training cannot change it. Compute the values "
            "first, then ask for gradients, e.g. "
            f"self.{name} = (torch.randn{shape} * 0.01).requires_grad_() or "
            f"self.{name} = torch.normal(0, 0.01, {shape}, requires_grad=True)"
        )
    if is_parameter and in_init:
        raise TypeError(
            f"{owner}.{name} replaces a parameter by a tensor that does not require "
            "grad, so training would never change it; create it with "
            f"requires_grad=True, e.g. self.{name} = torch.zeros({shape}, "
            "requires_grad=True)"
        )
    if is_parameter:
        made = (
            "a computed tensor" if value.requires_grad else "one without requires_grad"
        )
        raise TypeError(
            f"{owner}.{name} is a parameter; replacing it by {made} would stop its "
            "training. Update it in place instead, e.g. "
            f"with torch.no_grad(): self.{name} -= lr * self.{name}.grad"
        )


def _stop_training(trainer: Trainer, value: float, batch: int) -> None:
    """Raise the error of a loss that is not finite: where, why, and what to do now."""
    model = trainer.model
    broken = not all(_finite(p) for p in model.parameters())
    state = "now hold nan or inf" if broken else "produced this loss"
    raise FloatingPointError(
        f"the training loss became {value} in epoch {trainer.epoch + 1} of "
        f"{trainer.max_epochs}, batch {batch} of {trainer.num_train_batches}; training "
        "stopped. Usually the learning rate is too large (try a smaller lr), the "
        "inputs are not scaled, or the loss takes the log of zero. The model's "
        f"parameters {state}: create the model again before the next fit, "
        f"e.g. model = {_remade(model)} with a smaller lr."
    )


def _looked_at_once(loss: torch.Tensor) -> bool:
    """Whether a loss can be looked at now at no cost: it is on the CPU."""
    return loss.device.type == "cpu"


def _finite(param: torch.Tensor) -> bool:
    """Whether every entry of a parameter is a number (a lazy one has none yet)."""
    return nn.parameter.is_lazy(param) or bool(torch.isfinite(param).all())


def _remade(model: Module) -> str:
    """How to create ``model`` again, from its hyperparameters: ``Name(a=1, b=2)``."""
    return HyperParameters.__repr__(model)


def _described(value: Any) -> str:
    """``value`` in a message: None, or its type and a short repr."""
    if value is None:
        return "None"
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"a {type(value).__name__} ({text})"


def _check_fit_arguments(model: Any, data: Any) -> None:
    """``fit(model, data)``: a Module instance, then something with data loaders."""
    is_data = callable(getattr(data, "train_dataloader", None))
    if isinstance(data, nn.Module) and callable(
        getattr(model, "train_dataloader", None)
    ):
        raise TypeError(
            f"fit(model, data) takes the model first, then the data; got "
            f"{type(model).__name__} and {type(data).__name__}: swap them, e.g. "
            "trainer.fit(model, data)."
        )
    for value, kind in ((model, "model"), (data, "data")):
        if isinstance(value, type):
            raise TypeError(
                f"fit(model, data) needs the {kind} itself, an instance, got the class "
                f"{value.__name__}; create one first, e.g. {kind} = {value.__name__}(...)."
            )
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"fit(model, data) needs a model (a d2l.Module) first, got "
            f"{_described(model)}; e.g. trainer.fit(d2l.LinearRegression(lr=0.03), data)."
        )
    if not isinstance(model, Module):
        raise TypeError(
            f"fit(model, data) trains a d2l.Module (a network with its loss, optimizer "
            f"and progress board), got {_described(model)}; wrap the network, e.g. "
            "class Model(d2l.Module) whose __init__ sets self.net = ..., with a loss."
        )
    if "_parameters" not in vars(model) or "board" not in vars(model):
        raise TypeError(
            f"{type(model).__name__}.__init__ did not call super().__init__(), so the "
            "model has no progress board and no parameters PyTorch knows of; start "
            "__init__ with it, e.g. def __init__(self, lr): super().__init__(); "
            "self.save_hyperparameters()."
        )
    if not is_data:
        raise TypeError(
            f"fit(model, data) needs a data module (a d2l.DataModule, with "
            f"train_dataloader() and val_dataloader()), got {_described(data)}; e.g. "
            "trainer.fit(model, d2l.SyntheticRegressionData(w, b)); a loader of your "
            "own goes in the get_dataloader of a DataModule subclass."
        )


def _check_returned_loss(owner: str, loss: Any) -> None:
    """What ``training_step`` returned must be a loss that ``backward`` can use."""
    fix = "e.g. return self.loss(self(*inputs), y)"
    if not torch.is_tensor(loss):
        got = "None (a forgotten return?)" if loss is None else _described(loss)
        detail = ""
        if isinstance(loss, float):
            detail = "; .item() cuts the loss off from its gradient"
        raise TypeError(
            f"{owner}.training_step returned {got}{detail}; it must return the loss "
            f"as a tensor that backward() can differentiate, {fix}."
        )
    if loss.numel() != 1:
        raise ValueError(
            f"{owner}.training_step returned a tensor of shape {tuple(loss.shape)}, not "
            "a single number: backward() needs one loss for the batch; return the "
            "mean of the losses, e.g. return losses.mean()."
        )
    if not loss.requires_grad:
        raise ValueError(
            f"{owner}.training_step returned a loss that does not require grad, so "
            "backward() cannot compute gradients: it was detached (.detach(), "
            "torch.no_grad()) or no parameter of the model requires grad; return the "
            f"loss as computed, {fix}."
        )


def _in_memory_tensors(loader: Any) -> tuple[torch.Tensor, ...]:
    """The tensors behind an in-memory loader (TensorLoader, or a DataLoader over a
    TensorDataset); empty for any other loader, whose data is not looked at."""
    if loader is None:
        return ()
    tensors = getattr(loader, "tensors", None)
    if tensors is None:
        tensors = getattr(getattr(loader, "dataset", None), "tensors", None)
    return tuple(t for t in tensors or () if torch.is_tensor(t))


def _check_finite_data(tensor: torch.Tensor, split: str, index: int) -> None:
    # A sum is finite only if every term is (nan and inf propagate), and a sum costs
    # one pass with no new tensor; only a non-finite sum (or an overflow) looks closer.
    if not tensor.dtype.is_floating_point or torch.isfinite(tensor.sum()):
        return
    bad = ~torch.isfinite(tensor)
    if bad.any():
        rows = bad.reshape(len(tensor), -1).any(dim=1).nonzero().flatten()
        what = "inputs" if index == 0 else f"tensor {index} (labels or targets)"
        raise ValueError(
            f"the {split} data holds nan or inf: {int(bad.sum())} values of its "
            f"{what}, in {len(rows)} examples, the first at index {int(rows[0])}. A "
            "loss computed from them is nan, whatever the learning rate; remove or "
            "fill them before training, e.g. keep = torch.isfinite(X).all(dim=1); "
            "X, y = X[keep], y[keep]."
        )


# ---------------------------------------------------------- Section 5.5


def check_early_stopping(
    monitor: Any, mode: Any, patience: Any, min_delta: Any
) -> None:
    """Refuse early-stopping settings that cannot work, with a clear error (Section 5.5).

    ``monitor`` names a validation quantity (``"val_loss"``, ``"val_acc"``,
    ``"val_<name>"``), ``mode`` is ``"min"`` or ``"max"``, ``patience`` a positive
    integer or None (never stop), ``min_delta`` a finite number of at least 0.
    """
    if not (isinstance(monitor, str) and monitor.startswith("val_") and monitor[4:]):
        raise ValueError(
            "monitor must name a validation quantity, such as 'val_loss' or 'val_acc', "
            f"got {monitor!r}."
        )
    if mode not in ("min", "max"):
        raise ValueError(
            "mode must be 'min' (smaller is better, as for a loss) or 'max' (larger is "
            f"better, as for an accuracy), got {mode!r}."
        )
    whole = isinstance(patience, (int, np.integer)) and not isinstance(patience, bool)
    if patience is not None and not (whole and patience > 0):
        raise ValueError(
            "patience must be a positive whole number of epochs, or None to never stop "
            f"early, got {patience!r}."
        )
    number = isinstance(min_delta, (int, float, np.integer, np.floating))
    if isinstance(min_delta, bool) or not number or not 0 <= min_delta < float("inf"):
        raise ValueError(
            f"min_delta must be a number of at least 0, got {min_delta!r}."
        )


@torch.no_grad()
def evaluate(model: Module, dataloader: Iterable, metric: str = "loss") -> float:
    """Return the mean of ``model.<metric>(Y_hat, Y)`` over every label in ``dataloader`` (Section 5.5).

    ``metric`` names a method of the model that scores a batch, such as ``"loss"`` or
    ``"accuracy"``. Each batch counts by its number of labels, so a smaller last batch
    does not tilt the mean. The model runs in evaluation mode (no dropout), on the device
    of its parameters, and is put back into the mode it was in.
    """
    if not callable(getattr(model, metric, None)):
        raise ValueError(
            f"{type(model).__name__} has no method {metric!r} to score a batch with; "
            "use e.g. metric='loss' or metric='accuracy'."
        )
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for *inputs, Y in dataloader:
        inputs, Y = [X.to(device) for X in inputs], Y.to(device)
        total += getattr(model, metric)(model(*inputs), Y) * Y.numel()
        count += Y.numel()
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the data loader holds no examples.")
    return float(total) / count


class EarlyStoppingTrainer(Trainer):
    """A Trainer that stops once a validation quantity stops improving (Section 5.5).

    After every epoch it computes ``monitor`` on the whole validation set with
    ``evaluate``: ``"val_loss"`` (``model.loss``), ``"val_acc"`` (``model.accuracy``) or
    ``"val_<name>"`` for any method ``model.<name>(Y_hat, Y)``. With ``mode="min"``
    smaller is better, with ``"max"`` larger. An epoch improves when it beats the best
    value so far by more than ``min_delta``; after ``patience`` epochs in a row without
    improvement the remaining epochs are skipped (``patience=None``: never). When ``fit``
    ends, the model gets back the parameters and buffers of its best epoch
    (``restore_best=False`` keeps the last ones). ``history`` lists the monitored value of
    every epoch trained, ``best_epoch`` (counted from 1) and ``best_score`` say which was
    best, and ``stopped_epoch`` is the epoch after which training stopped (None: it ran
    all ``max_epochs``).
    """

    def __init__(
        self,
        max_epochs: int,
        num_gpus: int = 0,
        gradient_clip_val: float = 0,
        monitor: str = "val_loss",
        mode: str = "min",
        patience: int | None = 3,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        check_early_stopping(monitor, mode, patience, min_delta)
        super().__init__(max_epochs, num_gpus, gradient_clip_val)
        self.save_hyperparameters()
        self.metric = "accuracy" if monitor == "val_acc" else monitor[len("val_") :]

    def fit(self, model: Module, data: Any) -> None:
        """Train as ``Trainer.fit`` does, then restore the weights of the best epoch (Section 5.5)."""
        self.history, self.best_epoch, self.best_state = [], None, None
        self.best_score = float("inf") if self.mode == "min" else -float("inf")
        self.wait, self.stopped_epoch = 0, None  # epochs without improvement
        super().fit(model, data)
        if self.restore_best and self.best_state is not None:
            with torch.no_grad():
                for tensor, best in zip(
                    self.state_tensors(), self.best_state, strict=True
                ):
                    tensor.copy_(best)

    def fit_epoch(self) -> None:
        """Train one epoch (none once stopped), score it and remember the best (Section 5.5)."""
        if self.stopped_epoch is not None:
            return
        if self.val_dataloader is None:
            raise ValueError(
                "EarlyStoppingTrainer needs validation data: the data module's "
                "val_dataloader() returned None."
            )
        super().fit_epoch()
        score = evaluate(self.model, self.val_dataloader, self.metric)
        self.history.append(score)
        if self.mode == "min":
            better = score < self.best_score - self.min_delta
        else:
            better = score > self.best_score + self.min_delta
        if better:
            self.best_score, self.best_epoch, self.wait = score, self.epoch + 1, 0
            self.best_state = [t.detach().clone() for t in self.state_tensors()]
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.stopped_epoch = self.epoch + 1

    def state_tensors(self) -> list[torch.Tensor]:
        """The model's parameters and buffers: what restoring the best epoch copies back (Section 5.5)."""
        return [*self.model.parameters(), *self.model.buffers()]


__all__ += ["check_early_stopping", "evaluate", "EarlyStoppingTrainer"]
