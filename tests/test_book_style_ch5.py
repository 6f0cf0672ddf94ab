"""Code in the idiom of *Dive into Deep Learning*'s sections 5.4 and 5.6 runs on d2lutil.

The programs are ours, in that book's call shapes: ``d2l.plot`` of detached tensors' NumPy
arrays with ``legend=`` and ``figsize=`` (5.4), and ``d2l.Classifier`` subclasses with
``nn.LazyLinear`` layers that branch on ``self.training``, trained on
``d2l.FashionMNIST(batch_size=256)`` by one ``d2l.Trainer(max_epochs=10)`` that fits two models
in turn (5.6). To keep the test short, the data module's splits are cut to a few thousand
images after it is made; everything else is the book's shape.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


# ------------------------------------------------------------------ 5.4's idiom


def test_a_function_and_its_gradient_plotted_from_numpy_arrays():
    x = torch.arange(-4.0, 4.0, 0.25, requires_grad=True)
    y = torch.tanh(x)
    y.backward(torch.ones_like(x))
    d2l.plot(
        x.detach().numpy(),
        [y.detach().numpy(), x.grad.numpy()],
        legend=["tanh", "its gradient"],
        figsize=(4.5, 2.5),
    )
    axes = d2l.plt.gca()
    lines = axes.get_lines()
    assert len(lines) == 2
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "tanh",
        "its gradient",
    ]
    assert tuple(axes.figure.get_size_inches()) == (4.5, 2.5)
    expected = (1 - torch.tanh(x) ** 2).detach().numpy()
    assert lines[1].get_ydata() == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_a_product_of_random_matrices_in_the_book_idiom():
    d2l.seed(0)
    M = d2l.normal(0, 1, size=(3, 3))
    for _ in range(30):
        M = d2l.matmul(M, d2l.normal(0, 1, size=(3, 3)))
    # entries of a product of 31 standard normal 3 x 3 matrices: far from 1 in size
    assert d2l.reduce_sum(d2l.abs(M)) > 1e3 or d2l.reduce_sum(d2l.abs(M)) < 1e-3


# ------------------------------------------------------------------ 5.6's idiom


def zero_some(X, dropout):
    """Dropout written as a student of the book would, with d2l's aliases."""
    assert 0 <= dropout <= 1
    if dropout == 1:
        return d2l.zeros_like(X)
    mask = d2l.astype(d2l.rand(X.shape) > dropout, d2l.float32)
    return mask * X / (1.0 - dropout)


class TwoHiddenDropout(d2l.Classifier):
    def __init__(
        self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr
    ):
        super().__init__()
        self.save_hyperparameters()
        self.first = nn.LazyLinear(num_hiddens_1)
        self.second = nn.LazyLinear(num_hiddens_2)
        self.last = nn.LazyLinear(num_outputs)
        self.act = nn.ReLU()

    def forward(self, X):
        H = self.act(self.first(d2l.reshape(X, (X.shape[0], -1))))
        if self.training:
            H = zero_some(H, self.dropout_1)
        H = self.act(self.second(H))
        if self.training:
            H = zero_some(H, self.dropout_2)
        return self.last(H)


class SequentialDropout(d2l.Classifier):
    def __init__(
        self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.LazyLinear(num_hiddens_1),
            nn.ReLU(),
            nn.Dropout(dropout_1),
            nn.LazyLinear(num_hiddens_2),
            nn.ReLU(),
            nn.Dropout(dropout_2),
            nn.LazyLinear(num_outputs),
        )


@pytest.fixture(scope="module")
def fashion():
    data = d2l.FashionMNIST(batch_size=256)
    data.train = TensorDataset(*(t[:3000] for t in data.train.tensors))
    data.val = TensorDataset(*(t[:1000] for t in data.val.tensors))
    return data


def test_zero_some_keeps_the_mean():
    d2l.seed(0)
    X = d2l.ones(1000, 100)
    assert abs(float(d2l.reduce_mean(zero_some(X, 0.5))) - 1) < 0.02
    assert float(d2l.reduce_sum(zero_some(X, 1.0))) == 0


@pytest.mark.parametrize(
    "classes",
    [
        (TwoHiddenDropout, SequentialDropout),
        (d2l.DropoutMLPScratch, d2l.DropoutMLP),
    ],
    ids=["book-style classes", "d2lutil's classes"],
)
def test_two_dropout_mlps_trained_by_one_trainer(fashion, classes):
    hparams = {
        "num_outputs": 10,
        "num_hiddens_1": 64,
        "num_hiddens_2": 32,
        "dropout_1": 0.5,
        "dropout_2": 0.5,
        "lr": 0.1,
    }
    trainer = d2l.Trainer(max_epochs=10)
    for cls in classes:
        d2l.seed(0)
        model = cls(**hparams)
        trainer.fit(model, fashion)
        assert len(model.board.data["val_acc"]) == 10
        assert model.board.data["val_acc"][-1].y > 0.5  # chance is 0.1
        assert trainer.train_batch_idx == 10 * len(fashion.train_dataloader())
        model.eval()
        X, _ = next(iter(fashion.val_dataloader()))
        with torch.no_grad():
            assert torch.equal(model(X), model(X))  # no dropout at evaluation
