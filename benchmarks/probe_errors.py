"""Probe d2lutil the way students get it wrong, and give each call a verdict (issue 23).

Usage: python benchmarks/probe_errors.py [--verbose] [--json FILE]     (``make probe``)

Each case is one call of d2lutil's public API (or a short student program around one) that
is wrong in a way students are wrong: shapes, dtypes, types, forgotten returns, misused
decorators, NaN, empty data, damaged files; a few are right but unusual (a learning rate
as a 0-d tensor) and must simply work. Every call gets one verdict:

- ``correct``: no error and the right result (the student's intent, or what d2l accepts);
- ``clear``: an error raised by d2lutil itself (a ``raise`` statement in the package), at
  the call that made the mistake, whose message names what was wrong (each case gives a
  pattern for that: the argument, its value or shape);
- ``unclear``: an error raised by d2lutil that does not name it, names the wrong cause,
  comes too late (batches after the mistake), or refuses a valid call;
- ``internal``: an error from inside torch, NumPy, matplotlib or Python, not d2lutil's;
- ``silent``: no error and a wrong or meaningless result (the worst: it is believed).

The summary counts the verdicts and how many of d2lutil's messages show an example of
the fix ("e.g."). The figures to reach: 0 silent, at most 5 internal, at most 10 unclear.
Run it on another checkout with ``PYTHONPATH=/path/to/checkout``; the first line says which
d2lutil was probed.
"""

from __future__ import annotations

import argparse
import ast
import functools
import gzip
import json
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ["D2LUTIL_BOARD"] = "off"  # no figures, no progress lines
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from torch import nn

import d2lutil as d2l
from d2lutil import _datasets

PACKAGE = Path(d2l.__file__).resolve().parent
VERDICTS = ("correct", "clear", "unclear", "internal", "silent")
TRUE_W, TRUE_B = torch.tensor([2.0, -3.4]), 4.2


@dataclass
class Case:
    """One probe: ``call()`` does what the student did.

    ``ok(result)`` says whether a returned result is right (no ``ok``: any result is
    wrong, the call should have raised). ``names`` is the pattern a clear message must
    match. ``judge(result, error)`` replaces both for the cases that need more.
    """

    name: str
    group: str
    call: Callable
    names: str = ""
    ok: Callable | None = None
    judge: Callable | None = None


CASES: list[Case] = []


def case(group: str, names: str = "", ok: Callable | None = None, judge=None):
    """Decorator: register the decorated function as a probe."""

    def register(fn: Callable) -> Callable:
        CASES.append(Case(fn.__name__, group, fn, names, ok, judge))
        return fn

    return register


# ------------------------------------------------------------------- judging


@functools.cache
def _raise_lines(path: str) -> set[int]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        for line in range(node.lineno, node.end_lineno + 1)
    }


def raised_by_d2lutil(error: BaseException) -> bool:
    """True when the innermost frame is a ``raise`` statement in the package."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    path = Path(tb.tb_frame.f_code.co_filename).resolve()
    if PACKAGE not in path.parents:
        return False
    return tb.tb_lineno in _raise_lines(str(path))


def verdict(c: Case, result: object, error: BaseException | None) -> tuple[str, str]:
    """(verdict, note) of one probe."""
    if c.judge is not None:
        return c.judge(result, error)
    if error is None:
        if c.ok is not None and c.ok(result):
            return "correct", ""
        return "silent", f"returned {short(result)}"
    message = f"{type(error).__name__}: {error}"
    if not raised_by_d2lutil(error):
        return "internal", message
    if c.ok is not None:  # a valid call that d2lutil refused
        return "unclear", "refused a valid call: " + message
    if c.names and re.search(c.names, str(error), re.S | re.I):
        return "clear", message
    return "unclear", message


def short(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) < 100 else text[:97] + "..."


def run(c: Case) -> tuple[str, str]:
    torch.manual_seed(0)
    np.random.seed(0)
    result, error = None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = c.call()
        except Exception as exc:  # the verdict is about which exception, and where
            error = exc
    return verdict(c, result, error)


# ------------------------------------------------------------------- helpers


def synthetic(num_train: int = 1000, batch_size: int = 32, **kwargs) -> object:
    return d2l.SyntheticRegressionData(
        TRUE_W, TRUE_B, num_train=num_train, num_val=64, batch_size=batch_size, **kwargs
    )


def fit(model: object, data: object, epochs: int = 3) -> object:
    d2l.Trainer(max_epochs=epochs).fit(model, data)
    return model


def learned_w(model: object) -> torch.Tensor:
    return model.w.detach().reshape(-1)


def close_to_truth(model: object) -> bool:
    w = learned_w(model)
    return w.shape == TRUE_W.shape and bool((w - TRUE_W).abs().max() < 0.1)


def changed(before: torch.Tensor, after: torch.Tensor) -> bool:
    return not torch.equal(before, after.detach())


class FlatLabels(d2l.SyntheticRegressionData):
    """Labels stored as a flat vector (n,), against predictions (n, 1)."""

    def get_dataloader(self, train):
        n, y = self.num_train, self.y.reshape(-1)
        tensors = (self.X[:n], y[:n]) if train else (self.X[n:], y[n:])
        return self.get_tensorloader(tensors, train)


class Tensors(d2l.DataModule):
    """A data module over given training and validation tensors."""

    def __init__(self, train, val, batch_size=16):
        super().__init__()
        self.train, self.val, self.batch_size = train, val, batch_size

    def get_dataloader(self, train):
        return self.get_tensorloader(self.train if train else self.val, train)


def blobs(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 3
    X = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])[y] + 0.3 * torch.randn(n, 2)
    return X, y


def sgd_case(make: Callable[[torch.Tensor], object], steps: int = 1) -> bool:
    """Train w with the optimizer ``make(w)`` gives; True when w moved by lr * grad."""
    w = torch.tensor([1.0, -1.0], requires_grad=True)
    opt = make(w)
    for _ in range(steps):
        opt.zero_grad()
        (w**2).sum().backward()
        grad = w.grad.clone()
        before = w.detach().clone()
        opt.step()
    return torch.allclose(w.detach(), before - 0.1 * grad)


# ------------------------------------------------------------- optimizers


@case("SGD", r"list|\[w\]|single tensor")
def sgd_given_a_tensor_not_a_list():
    return sgd_case(lambda w: d2l.SGD(w, lr=0.1))


@case("SGD", r"leaf|computed")
def sgd_given_a_non_leaf():
    w = torch.tensor([1.0, -1.0], requires_grad=True)
    opt = d2l.SGD([w * 1.0], lr=0.1)
    (w**2).sum().backward()
    before = w.detach().clone()
    opt.step()
    return changed(before, w)


@case("SGD", r"twice|more than once|duplicate|same tensor")
def sgd_given_the_same_tensor_twice():
    return sgd_case(lambda w: d2l.SGD([w, w], lr=0.1))


@case("SGD", ok=bool)
def sgd_given_a_generator():
    return sgd_case(lambda w: d2l.SGD(iter([w]), lr=0.1), steps=2)


@case("SGD", r"empty|non-empty|at least one")
def sgd_given_nothing():
    return d2l.SGD([], lr=0.1)


@case("SGD", r"requires_grad")
def sgd_given_a_tensor_without_grad():
    return d2l.SGD([torch.zeros(2)], lr=0.1)


@case("SGD", r"tensor")
def sgd_given_numbers():
    return d2l.SGD([1.0, 2.0], lr=0.1)


@case("SGD", ok=bool)
def sgd_lr_as_a_0d_tensor():
    return sgd_case(lambda w: d2l.SGD([w], lr=torch.tensor(0.1)))


@case("SGD", ok=bool)
def sgd_lr_as_numpy_float():
    return sgd_case(lambda w: d2l.SGD([w], lr=np.float32(0.1)))


for _bad in ("0.1", -0.1, 0, math.nan, math.inf, None, [0.1]):

    def _sgd_bad_lr(lr=_bad):
        return d2l.SGD([torch.zeros(1, requires_grad=True)], lr=lr)

    _sgd_bad_lr.__name__ = f"sgd_lr={_bad!r}"
    case("SGD", r"\blr\b")(_sgd_bad_lr)


@case("SGD", ok=lambda r: r == [1.0, 1.0])
def sgd_step_before_backward():
    w = torch.ones(2, requires_grad=True)
    d2l.SGD([w], lr=0.1).step()
    return w.tolist()


# ----------------------------------------------------------- regression


def _model_with_forward(forward: Callable) -> object:
    class Student(d2l.LinearRegressionScratch):
        pass

    Student.forward = forward
    return Student(2, lr=0.1)


@case("regression", r"shape|\(32,\)|\(32, 1\)")
def forward_returns_a_flat_vector():
    model = _model_with_forward(lambda self, X: (X @ self.w + self.b).reshape(-1))
    return close_to_truth(fit(model, synthetic()))


@case("regression", r"shape|\(32, 3\)|\(32, 1\)")
def forward_returns_three_columns():
    def forward(self, X):
        return X @ self.w.repeat(1, 3) + self.b

    return learned_w(fit(_model_with_forward(forward), synthetic())).tolist()


@case("regression", r"shape|\(32,\)|\(32, 1\)")
def labels_stored_flat_scratch():
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    data = FlatLabels(TRUE_W, TRUE_B, num_train=1000, num_val=64)
    return close_to_truth(fit(model, data))


@case("regression", r"shape|\(32,\)|\(32, 1\)")
def labels_stored_flat_concise():
    model = d2l.LinearRegression(lr=0.1)
    fit(model, FlatLabels(TRUE_W, TRUE_B, num_train=1000, num_val=64))
    w, _ = model.get_w_b()
    return w.reshape(-1).tolist()


@case("regression", r"shape|\(5,\)|\(5, 1\)")
def scratch_loss_of_mismatched_shapes():
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    return model.loss(torch.zeros(5, 1), torch.ones(5))


@case("regression", r"shape|\(5, 1\)|\(5,\)")
def concise_loss_of_mismatched_shapes():
    return d2l.LinearRegression(lr=0.03).loss(torch.zeros(5), torch.ones(5, 1))


@case("regression", r"num_inputs|3.*2|2.*3|features")
def model_inputs_differ_from_the_data():
    return fit(d2l.LinearRegressionScratch(3, lr=0.03), synthetic())


@case("regression", r"w\b.*requires_grad")
def weight_created_without_requires_grad():
    class Student(d2l.Module):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.w = torch.normal(0, 0.01, (2, 1))
            self.b = torch.zeros(1, requires_grad=True)

        def forward(self, X):
            return X @ self.w + self.b

        def loss(self, y_hat, y):
            return ((y_hat - y) ** 2).mean() / 2

    return close_to_truth(fit(Student(lr=0.1), synthetic()))


@case("regression", r"leaf|requires_grad_")
def weight_computed_from_a_tensor_that_requires_grad():
    class Student(d2l.LinearRegressionScratch):
        def __init__(self, lr):
            super().__init__(2, lr)
            del self.w
            self.w = torch.randn(2, 1, requires_grad=True) * 0.01

    return close_to_truth(fit(Student(lr=0.1), synthetic()))


@case("regression", ok=lambda moved: moved == 1)
def attribute_aliasing_a_weight():
    class Student(d2l.Module):
        def __init__(self):
            super().__init__()
            self.lr = 0.1
            self.w = torch.zeros(2, 1, requires_grad=True)
            self.weights = self.w

        def forward(self, X):
            return X @ self.w

        def loss(self, y_hat, y):
            return ((y_hat - y) ** 2).mean()

    model = Student()
    opt = model.configure_optimizers()
    model.loss(model(torch.ones(4, 2)), torch.ones(4, 1)).backward()
    grad = model.w.grad.clone()
    opt.step()
    return float((model.w.detach() / (-0.1 * grad)).mean())


@case("regression", ok=bool)
def book_style_parameters_override():
    class Book(d2l.LinearRegressionScratch):
        def parameters(self):
            return [self.w, self.b]

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), self.lr)

    return close_to_truth(fit(Book(2, lr=0.1), synthetic()))


# ------------------------------------------------------------------ fit


@case("fit", r"swapped|fit\(model, data\)")
def fit_arguments_swapped():
    data, model = synthetic(), d2l.LinearRegressionScratch(2, lr=0.03)
    return d2l.Trainer(max_epochs=1).fit(data, model)


@case("fit", r"DataModule|data module")
def fit_given_a_loader():
    data, model = synthetic(), d2l.LinearRegressionScratch(2, lr=0.03)
    return d2l.Trainer(max_epochs=1).fit(model, data.train_dataloader())


@case("fit", r"class|instance")
def fit_given_the_model_class():
    class Student(d2l.LinearRegressionScratch):  # fit may change the class it is given
        pass

    return d2l.Trainer(max_epochs=1).fit(Student, synthetic())


@case("fit", r"DataModule|data module|None")
def fit_given_no_data():
    return d2l.Trainer(max_epochs=1).fit(d2l.LinearRegressionScratch(2, 0.03), None)


@case("fit", r"super\(\)\.__init__\(\)")
def model_init_forgot_super():
    class Student(d2l.LinearRegressionScratch):
        def __init__(self):
            self.lr = 0.03

    return d2l.Trainer(max_epochs=1).fit(Student(), synthetic())


@case("fit", r"configure_optimizers.*(return|None)")
def configure_optimizers_without_return():
    class Student(d2l.LinearRegressionScratch):
        def configure_optimizers(self):
            d2l.SGD([self.w, self.b], self.lr)

    return fit(Student(2, lr=0.03), synthetic(), epochs=1)


@case("fit", r"training_step.*(return|None)")
def training_step_without_return():
    class Student(d2l.LinearRegressionScratch):
        def training_step(self, batch):
            self.loss(self(batch[0]), batch[1])

    return fit(Student(2, lr=0.03), synthetic(), epochs=1)


@case("fit", r"training_step.*(item|float|tensor)")
def training_step_returns_a_float():
    class Student(d2l.LinearRegressionScratch):
        def training_step(self, batch):
            return self.loss(self(batch[0]), batch[1]).item()

    return fit(Student(2, lr=0.03), synthetic(), epochs=1)


@case("fit", r"training_step.*(single|one number|mean|shape)")
def training_step_returns_one_loss_per_example():
    class Student(d2l.LinearRegressionScratch):
        def training_step(self, batch):
            return ((self(batch[0]) - batch[1]) ** 2 / 2).reshape(-1)

    return fit(Student(2, lr=0.03), synthetic(), epochs=1)


@case("fit", r"detach|requires grad|graph")
def training_step_returns_a_detached_loss():
    class Student(d2l.LinearRegressionScratch):
        def training_step(self, batch):
            return self.loss(self(batch[0]), batch[1]).detach()

    return fit(Student(2, lr=0.03), synthetic(), epochs=1)


@case("fit", r"empty|no (training )?(examples|batches)|0 (examples|batches)")
def fit_on_an_empty_training_set():
    X, y = torch.zeros(0, 2), torch.zeros(0, 1)
    data = Tensors((X, y), (torch.randn(8, 2), torch.randn(8, 1)))
    return learned_w(fit(d2l.LinearRegressionScratch(2, lr=0.03), data)).tolist()


@case("fit", r"Trainer|fit")
def training_step_without_a_trainer():
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    return model.training_step([torch.randn(4, 2), torch.randn(4, 1)])


@case("fit", r"plot_train_per_epoch")
def plot_train_per_epoch_zero():
    class Student(d2l.LinearRegressionScratch):
        def __init__(self):
            super().__init__(2, lr=0.03)
            self.plot_train_per_epoch = 0

    return fit(Student(), synthetic(), epochs=1)


@case("fit", r"plot_train_per_epoch")
def module_with_plot_train_per_epoch_zero():
    return d2l.Module(plot_train_per_epoch=0)


def _judge_prompt(bad_batch: int, seen: list[int]):
    """Clear only if training stopped at the bad batch and the message names it."""

    def judge(result, error):
        if error is None:
            return "silent", "trained through a non-finite loss"
        if not raised_by_d2lutil(error):
            return "internal", f"{type(error).__name__}: {error}"
        late = seen[0] - bad_batch
        named = re.search(rf"batch {bad_batch} of", str(error))
        if late or not named:
            return "unclear", f"stopped {late} batches late: {error}"
        return "clear", str(error)

    return judge


def _late_loss_case(bad_batch: int, value: float) -> Callable:
    seen = [0]

    class Student(d2l.LinearRegression):
        def loss(self, y_hat, y):
            loss = super().loss(y_hat, y)
            if self.training:
                seen[0] += 1
                if seen[0] == bad_batch:
                    return loss * value
            return loss

    def call():
        return fit(Student(lr=0.01), synthetic(num_train=100, batch_size=1), epochs=1)

    return call, _judge_prompt(bad_batch, seen)


for _bad_batch, _value in ((4, math.inf), (3, math.nan)):
    _call, _judge = _late_loss_case(_bad_batch, _value)
    _call.__name__ = f"loss_{_value}_at_batch_{_bad_batch}_reported_at_once"
    case("fit", judge=_judge)(_call)


@case("fit", r"(learning rate|lr).*(too large|smaller)")
def learning_rate_too_large():
    return fit(d2l.LinearRegressionScratch(2, lr=3.0), synthetic())


@case("fit", r"(nan|inf).*(create|again|re-?create|new model)")
def fit_again_after_divergence_with_a_smaller_lr():
    model = d2l.LinearRegressionScratch(2, lr=1e6)
    try:
        fit(model, synthetic())
    except FloatingPointError:
        pass
    model.lr = 0.1
    return close_to_truth(fit(model, synthetic()))


@case("fit", r"(nan|not a number).*(data|X|input)")
def nan_in_the_training_data():
    data = synthetic()
    data.X[5, 0] = math.nan
    return fit(d2l.LinearRegressionScratch(2, lr=0.03), data)


@case("fit", r"(nan|not a number).*(data|valid|X|input)")
def nan_only_in_the_validation_data():
    data = synthetic()
    data.X[-3, 1] = math.nan
    model = fit(d2l.LinearRegressionScratch(2, lr=0.03), data)
    return [point.y for point in model.board.data["val_loss"]]


@case("fit", r"max_epochs")
def trainer_with_max_epochs_2_5():
    return d2l.Trainer(max_epochs=2.5)


@case("fit", r"max_epochs")
def trainer_with_max_epochs_0():
    return d2l.Trainer(max_epochs=0)


@case("fit", r"max_epochs")
def trainer_with_max_epochs_as_string():
    return d2l.Trainer(max_epochs="3")


@case("fit", r"num_gpus")
def trainer_with_num_gpus_1_5():
    return d2l.Trainer(max_epochs=1, num_gpus=1.5)


@case("fit", r"gradient_clip_val")
def trainer_with_negative_clip_value():
    return d2l.Trainer(max_epochs=1, gradient_clip_val=-1)


@case("fit", r"\[X\]|list|inputs")
def apply_init_given_a_tensor():
    return d2l.LinearRegression(lr=0.1).apply_init(torch.randn(4, 2))


# -------------------------------------------------------- classification

Y_HAT = torch.tensor(
    [[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]]
)
Y = torch.tensor([1, 0, 2, 1])


def accuracy(*args):
    return d2l.Classifier().accuracy(*args)


def classifier_loss(*args):
    return d2l.Classifier().loss(*args)


@case("classification", r"list", ok=lambda r: float(r) == 0.75)
def labels_as_a_list():
    return accuracy(Y_HAT, Y.tolist())


@case("classification", r"numpy|array", ok=lambda r: float(r) == 0.75)
def labels_as_a_numpy_array():
    return accuracy(Y_HAT, Y.numpy())


@case("classification", r"inf|finite")
def labels_with_infinity():
    return accuracy(Y_HAT, torch.tensor([1.0, math.inf, 2.0, 1.0]))


@case("classification", r"nan|finite|whole")
def labels_with_nan():
    return accuracy(Y_HAT, torch.tensor([1.0, math.nan, 2.0, 1.0]))


@case("classification", r"whole|class indices")
def labels_with_fractions():
    return accuracy(Y_HAT, torch.tensor([1.0, 0.5, 2.0, 1.0]))


@case("classification", r"between 0 and 2|range|outputs")
def labels_out_of_range():
    return accuracy(Y_HAT, torch.tensor([1, 0, 3, 1]))


@case("classification", ok=lambda r: float(r) == 0.75)
def float_labels_that_are_whole_numbers():
    return accuracy(Y_HAT, Y.float())


@case("classification", r"one-hot|argmax")
def one_hot_labels():
    return accuracy(Y_HAT, nn.functional.one_hot(Y, 3))


@case("classification", r"float|integer|int64|dtype")
def integer_logits_to_the_loss():
    return classifier_loss(torch.tensor([[2, 0, 1], [0, 3, 1]]), torch.tensor([0, 1]))


@case("classification", ok=lambda r: float(r) == 1.0)
def integer_scores_to_accuracy():
    return accuracy(torch.tensor([[2, 0, 1], [0, 3, 1]]), torch.tensor([0, 1]))


@case("classification", r"empty|no (labels|examples)|0 (labels|examples)")
def empty_batch_to_the_loss():
    return classifier_loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))


@case("classification", r"empty|no (labels|examples)|0 (labels|examples)")
def empty_batch_to_accuracy():
    return accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))


@case("classification", r"empty|no (labels|examples)|0 (labels|examples)")
def empty_batch_to_cross_entropy():
    return d2l.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))


@case("classification", r"nan|finite")
def nan_logits_to_accuracy():
    Y_hat = Y_HAT.clone()
    Y_hat[1:3] = math.nan
    return accuracy(Y_hat, Y)


@case("classification", r"probabilit|softmax")
def cross_entropy_of_raw_scores():
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 1.2, -2.0]])
    return d2l.cross_entropy(logits, torch.tensor([0, 1]))


@case("classification", r"2-D|matrix|\(n, q\)|reshape|flatten")
def cross_entropy_of_sequences():
    probs = torch.softmax(torch.randn(2, 3, 4), dim=-1)
    return d2l.cross_entropy(probs, torch.randint(0, 4, (2, 3)))


@case("classification", r"\(3, 2, 4\)|\(2, 3\)|shape|transpose")
def sequence_predictions_with_transposed_labels():
    Y_hat = torch.randn(3, 2, 4)  # (T, B, q)
    return accuracy(Y_hat, Y_hat.argmax(dim=-1).T)  # labels (B, T)


@case("classification", r"one row|per label|\(4, 3\)|\(2,\)")
def fewer_labels_than_predictions():
    return accuracy(Y_HAT, Y[:2])


@case("classification", r"one row|per label|1-D|reshape")
def one_prediction_as_a_vector():
    return accuracy(Y_HAT[0], Y[:1])


@case("classification", r"empty|size|softmax")
def softmax_of_an_empty_row():
    return d2l.softmax(torch.zeros(3, 0))


@case("classification", r"num_outputs")
def softmax_regression_with_no_outputs():
    model = d2l.SoftmaxRegression(num_outputs=0, lr=0.1)
    return model(torch.randn(2, 1, 4, 4)).shape


@case("classification", r"num_inputs")
def scratch_model_with_float_num_inputs():
    return d2l.LinearRegressionScratch(2.0, lr=0.1)


@case("classification", r"num_hiddens")
def mlp_scratch_with_no_hidden_units():
    model = d2l.MLPScratch(num_inputs=2, num_outputs=3, num_hiddens=0, lr=0.1)
    X, y = blobs()
    fit(model, Tensors((X, y), blobs()), epochs=1)
    return model(X[:4]).tolist()


@case("classification", r"num_outputs")
def softmax_scratch_with_no_outputs():
    return d2l.SoftmaxRegressionScratch(num_inputs=4, num_outputs=0, lr=0.1)


def text_labels(indices):
    return d2l.FashionMNIST.text_labels(None, indices)


@case("classification", r"-1|between 0 and 9|0 to 9")
def text_labels_of_minus_one():
    return text_labels([-1])


@case("classification", r"10|between 0 and 9|0 to 9")
def text_labels_of_ten():
    return text_labels([3, 10])


@case("classification", ok=lambda r: r == ["dress"])
def text_labels_of_a_0d_tensor():
    return text_labels(torch.tensor(3))


@case("classification", ok=lambda r: r == ["dress"])
def text_labels_of_an_int():
    return text_labels(3)


@case("classification", ok=lambda r: r == ["trouser", "pullover"])
def text_labels_of_float_labels():
    return text_labels(torch.tensor([1.0, 2.0]))


@case("classification", r"whole|integer|class")
def text_labels_of_fractions():
    return text_labels([1.5])


@case("classification", ok=lambda r: r == ["trouser", "pullover"])
def text_labels_of_a_numpy_array():
    return text_labels(np.array([1, 2]))


# ------------------------------------------------ hyperparameters, classes


@case("hyperparameters", r"\*args|\*\*kwargs|named")
def save_hyperparameters_in_init_with_star_args():
    class Student(d2l.HyperParameters):
        def __init__(self, *args, **kwargs):
            self.save_hyperparameters()

    return Student(0.1, batch_size=8).hparams


@case("hyperparameters", r"__init__")
def save_hyperparameters_in_a_helper_method():
    class Student(d2l.HyperParameters):
        def __init__(self, lr):
            self.lr = lr

        def setup(self, batch_size=32):
            self.save_hyperparameters()

    student = Student(0.1)
    student.setup()
    return student.hparams


@case("hyperparameters", r"__init__")
def save_hyperparameters_outside_any_class():
    hp = d2l.HyperParameters()
    hp.save_hyperparameters()
    return hp.hparams


@case("hyperparameters", r"ignore.*(list|string|str)")
def ignore_given_as_a_string():
    class Student(d2l.HyperParameters):
        def __init__(self, net, lr):
            self.save_hyperparameters(ignore="net")

    return Student(nn.Linear(2, 1), 0.1).hparams


@case("hyperparameters", r"nett|not an argument")
def ignore_with_a_misspelt_name():
    class Student(d2l.HyperParameters):
        def __init__(self, net, lr):
            self.save_hyperparameters(ignore=["nett"])

    return Student(nn.Linear(2, 1), 0.1).hparams


@case("hyperparameters", ok=lambda r: r == {"noise": "gaussian", "lr": 0.1})
def a_string_noise_in_a_students_own_class():
    class Augment(d2l.HyperParameters):
        def __init__(self, noise="gaussian", lr=0.1):
            self.save_hyperparameters()

    return Augment().hparams


@case("hyperparameters", r"lr")
def a_negative_lr_in_a_students_own_class():
    class Schedule(d2l.HyperParameters):
        def __init__(self, lr):
            self.save_hyperparameters()

    return Schedule(-0.1)


@case("hyperparameters", r"add_to_class\(|class")
def add_to_class_without_its_class():
    class Student:
        pass

    @d2l.add_to_class
    def shout(self):
        return "hi"

    return hasattr(Student, "shout"), shout


@case("hyperparameters", r"lambda|name|def")
def add_to_class_given_a_lambda():
    class Student:
        pass

    d2l.add_to_class(Student)(lambda self: 1)
    return sorted(vars(Student))


@case("hyperparameters", r"class|instance")
def add_to_class_given_an_instance():
    model = d2l.LinearRegressionScratch(2, lr=0.1)

    @d2l.add_to_class(model)
    def describe(self):
        return "scratch"

    return model.describe()


# ------------------------------------------------------------------ data


@case("data", r"\bb\b.*(finite|nan)")
def synthetic_bias_nan():
    return d2l.SyntheticRegressionData(TRUE_W, math.nan).y[:2].tolist()


@case("data", r"\bw\b.*(finite|nan)")
def synthetic_weights_with_nan():
    return (
        d2l.SyntheticRegressionData(torch.tensor([2.0, math.nan]), 4.2).y[:2].tolist()
    )


@case("data", r"float64|float32|double")
def synthetic_weights_float64_from_numpy():
    return d2l.SyntheticRegressionData(torch.from_numpy(np.array([2.0, -3.4])), 4.2)


@case("data", ok=lambda data: abs(float(data.b) - 4.2) < 1e-6)
def synthetic_bias_as_numpy_float32():
    return d2l.SyntheticRegressionData(TRUE_W, np.float32(4.2))


@case("data", ok=lambda data: data.y.shape == (2000, 1))
def synthetic_bias_as_a_0d_tensor():
    return d2l.SyntheticRegressionData(TRUE_W, torch.tensor(4.2))


@case("data", r"\bw\b.*1-D")
def synthetic_weights_as_a_list():
    return d2l.SyntheticRegressionData([2.0, -3.4], 4.2)


@case("data", r"\bw\b.*1-D")
def synthetic_weights_as_a_column():
    return d2l.SyntheticRegressionData(TRUE_W.reshape(-1, 1), 4.2)


@case("data", r"\bb\b.*single number")
def synthetic_bias_as_a_vector():
    return d2l.SyntheticRegressionData(TRUE_W, torch.tensor([4.2, 1.0]))


@case("data", r"noise")
def synthetic_noise_as_a_string():
    return d2l.SyntheticRegressionData(TRUE_W, 4.2, noise="0.01")


@case("data", r"num_train")
def synthetic_no_training_examples():
    return d2l.SyntheticRegressionData(TRUE_W, 4.2, num_train=0)


@case("data", r"batch_size")
def synthetic_batch_size_as_float():
    return d2l.SyntheticRegressionData(TRUE_W, 4.2, batch_size=32.0)


@case("data", r"train.*(True|False|bool)")
def load_fashion_mnist_with_train_val():
    return d2l.load_fashion_mnist(train="val", root=FASHION)[0].shape


@case("data", r"train.*(True|False|bool)")
def load_fashion_mnist_with_train_none():
    return d2l.load_fashion_mnist(train=None, root=FASHION)[0].shape


@case("data", r"resize")
def fashion_mnist_resize_zero():
    return d2l.FashionMNIST(resize=0)


@case("data", r"resize")
def fashion_mnist_resize_float():
    return d2l.FashionMNIST(resize=28.0)


@case("data", r"tuple|\(X, y\)|tensors")
def tensor_loader_given_a_tensor_not_a_tuple():
    loader = d2l.TensorLoader(torch.randn(10, 2), batch_size=4)
    return [len(batch) for batch in loader]


@case("data", r"batch_size")
def tensor_loader_batch_size_zero():
    return d2l.TensorLoader((torch.zeros(4),), 0)


@case("data", r"same number of examples|first dimension")
def tensor_loader_tensors_of_different_lengths():
    return d2l.TensorLoader((torch.zeros(4), torch.zeros(5)), 2)


@case("data", r"tensor")
def tensor_loader_given_lists():
    return list(d2l.TensorLoader(([1, 2, 3], [4, 5, 6]), 2))


@case("data", r"get_dataloader")
def data_module_without_get_dataloader():
    return d2l.DataModule().train_dataloader()


def _fashion_files(folder: Path, damage: Callable[[bytes], bytes] | None) -> Path:
    """Copies of the test split's files in ``folder/fashion-mnist``, its labels damaged."""
    target = folder / "fashion-mnist"
    target.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        source = FASHION / f"{name}.gz"
        data = gzip.decompress(source.read_bytes())
        if damage is not None and name == "t10k-labels-idx1-ubyte":
            data = damage(data)
        (target / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=1))
    return folder


def _isolated(fn: Callable) -> Callable:
    """Run ``fn(folder)`` with no system copy, no mirror and an empty cache."""

    @functools.wraps(fn)
    def wrapper():
        saved = (
            _datasets.SYSTEM_DIRS,
            _datasets.FASHION_MNIST_MIRRORS,
            _datasets._CACHE,
        )
        _datasets.SYSTEM_DIRS, _datasets.FASHION_MNIST_MIRRORS = [], []
        _datasets._CACHE = {}
        folder = Path(tempfile.mkdtemp(prefix="probe-"))
        try:
            return fn(folder)
        finally:
            (_datasets.SYSTEM_DIRS, _datasets.FASHION_MNIST_MIRRORS) = saved[:2]
            _datasets._CACHE = saved[2]
            shutil.rmtree(folder, ignore_errors=True)

    return wrapper


@case("files", r"no verified copy.*apt-get|D2LUTIL_DATA")
@_isolated
def fashion_mnist_missing_offline(folder):
    return d2l.load_fashion_mnist(train=False, root=folder / "data")


@case("files", ok=lambda left: left == [])
@_isolated
def fashion_mnist_failed_download_leaves_nothing(folder):
    _datasets.FASHION_MNIST_MIRRORS = [(folder / "offline").as_uri() + "/"]
    try:
        d2l.load_fashion_mnist(train=False, root=folder / "data")
    except RuntimeError:
        pass
    return sorted(str(p.relative_to(folder)) for p in (folder / "data").rglob("*"))


@case("files", r"corrupt.*SHA-256")
@_isolated
def fashion_mnist_with_a_changed_label(folder):
    def damage(data: bytes) -> bytes:
        return data[:100] + bytes([(data[100] + 1) % 10]) + data[101:]

    return d2l.load_fashion_mnist(train=False, root=_fashion_files(folder, damage))


@case("files", r"corrupt.*bytes instead of")
@_isolated
def fashion_mnist_with_a_short_file(folder):
    return d2l.load_fashion_mnist(
        train=False, root=_fashion_files(folder, lambda data: data[:-8])
    )


@case("files", r"gzip")
@_isolated
def fashion_mnist_with_a_truncated_gzip(folder):
    root = _fashion_files(folder, None)
    path = root / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    return d2l.load_fashion_mnist(train=False, root=root)


@case("files", r"cannot write|writable")
@_isolated
def fashion_mnist_download_into_a_file(folder):
    _datasets.FASHION_MNIST_MIRRORS = [(folder / "offline").as_uri() + "/"]
    blocker = folder / "blocker"
    blocker.write_text("a file where the data folder should be")
    return d2l.load_fashion_mnist(train=False, root=blocker)


# --------------------------------------------------------------- devices


@case("devices", r"1\.5|integer|index")
def try_gpu_of_1_5():
    return d2l.try_gpu(1.5)


@case("devices", r"'cuda'|integer|index")
def try_gpu_of_cuda():
    return d2l.try_gpu("cuda")


@case("devices", r"None|integer|index")
def try_gpu_of_none():
    return d2l.try_gpu(None)


@case("devices", r"device|integer|index")
def try_gpu_of_a_device():
    return d2l.try_gpu(torch.device("cpu"))


@case("devices", r"-1|non-negative|index")
def try_gpu_of_minus_one():
    return d2l.try_gpu(-1)


@case("devices", r"1\.5|non-negative integer|index")
def gpu_of_1_5():
    return d2l.gpu(1.5)


# -------------------------------------------------------------- plotting


@case("plotting", r"legend")
def plot_legend_as_a_string():
    x = np.arange(5)
    d2l.plot(x, [x**2], legend="xy")
    return [t.get_text() for t in d2l.plt.gca().get_legend().get_texts()]


@case("plotting", r"\(100, 3\)|rows|transpose|\.T")
def plot_columns_instead_of_rows():
    x = np.linspace(0, 1, 100)
    d2l.plot(x, np.stack([x, x**2, x**3], axis=1))
    return len(d2l.plt.gca().get_lines())


@case("plotting", r"length|points|\b5\b.*\b4\b|\b4\b.*\b5\b")
def plot_x_and_y_of_different_lengths():
    return d2l.plot(np.arange(5), np.arange(4))


@case("plotting", r"axes", ok=lambda r: r == "x")
def set_axes_on_none():
    d2l.set_axes(None, "x", "y", None, None, "linear", "linear", None)
    return d2l.plt.gca().get_xlabel()


@case("plotting", r"xlim")
def plot_xlim_of_one_number():
    return d2l.plot(np.arange(5), xlim=(1,))


@case("plotting", r"fmts")
def plot_with_no_formats():
    return d2l.plot(np.arange(5), fmts=())


@case("plotting", r"x.*y|number|string|'a'")
def board_draw_of_a_string():
    board = d2l.ProgressBoard(display=False)
    board.draw(0, "0.5", "loss", every_n=2)
    board.draw(1, "0.4", "loss", every_n=2)
    return board.data


@case("plotting", r"None|number")
def board_draw_of_none():
    board = d2l.ProgressBoard(display=False)
    board.draw(0, None, "loss", every_n=2)
    board.draw(1, None, "loss", every_n=2)
    return board.data


@case("plotting", r"one number|single|2 elements|shape|\(2,\)")
def board_draw_of_two_numbers():
    board = d2l.ProgressBoard(display=False)
    board.draw(0, torch.tensor([0.5, 0.4]), "loss", every_n=2)
    board.draw(1, torch.tensor([0.5, 0.4]), "loss", every_n=2)
    return board.data


@case("plotting", r"mode")
def board_with_an_unknown_mode():
    return d2l.ProgressBoard(mode="fancy")


# ------------------------------------------------------------- utilities


@case("utilities", r"stop\(\)|no (lap|time)")
def timer_average_before_any_stop():
    timer = d2l.Timer()
    timer.times.clear()
    return timer.avg()


def _seed_case(value: object) -> tuple[Callable, Callable]:
    """seed(value) must refuse a bad seed before it reseeds any generator."""
    import random

    changed = []

    def call():
        state = random.getstate()
        try:
            return d2l.seed(value)
        finally:
            changed.append(random.getstate() != state)

    def judge(result, error):
        if error is None:
            return "silent", f"seed({value!r}) accepted"
        half = "half-applied (Python's generator was reseeded); " if changed[-1] else ""
        message = half + f"{type(error).__name__}: {error}"
        if not raised_by_d2lutil(error):
            return "internal", message
        if half or not re.search(r"seed", str(error)):
            return "unclear", message
        return "clear", message

    return call, judge


for _value in (-1, 1.5, "0", 2**70):
    _call, _judge = _seed_case(_value)
    _call.__name__ = f"seed({_value!r})"
    case("utilities", judge=_judge)(_call)


# --------------------------------------------------------------- running


def find_fashion_mnist() -> Path:
    """A folder with a verified copy of the four files (the cases above read it)."""
    for folder in [d2l.data_dir() / "fashion-mnist", *_datasets.SYSTEM_DIRS]:
        if all((folder / f"{n}.gz").exists() for n in _datasets.FASHION_MNIST_FILES):
            return folder
    sys.exit("probe: no Fashion-MNIST copy found; run `make test-deps` first")


FASHION = find_fashion_mnist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each message")
    parser.add_argument("--json", type=Path, help="write every verdict to this file")
    args = parser.parse_args()
    print(f"probing d2lutil at {PACKAGE} (torch {torch.__version__})")
    results, examples = [], Counter()
    for c in CASES:
        v, note = run(c)
        d2l.plt.close("all")
        results.append({"case": c.name, "group": c.group, "verdict": v, "note": note})
        if v in ("clear", "unclear"):
            examples[v, "e.g." in note] += 1
        line = f"{v:9s} {c.group:16s} {c.name}"
        print(line + (f"\n          {note}" if args.verbose and note else ""))
    counts = Counter(r["verdict"] for r in results)
    print(f"\n{len(results)} calls")
    for v in VERDICTS:
        print(f"  {v:9s} {counts[v]:4d}")
    with_example = examples["clear", True] + examples["unclear", True]
    print(
        f"d2lutil's messages that show an example (e.g.): {with_example} of "
        f"{counts['clear'] + counts['unclear']}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
