"""The call shapes of *Dive into Deep Learning*'s sections 2.6 and 3.7 run on d2lutil.

The programs below are ours, written in that book's idiom: sampling with
``torch.distributions.multinomial.Multinomial`` and drawing several curves through
``d2l.set_figsize``, ``d2l.plot`` and ``d2l.plt`` (2.6); a ``Data(d2l.DataModule)``
whose constructor calls only ``save_hyperparameters`` and whose loaders come from
``get_tensorloader([X, y], train, i)``, a ``WeightDecayScratch(d2l.LinearRegressionScratch)``
whose loss adds ``lambd * l2_penalty(self.w)``, a ``WeightDecay(d2l.LinearRegression)``
whose ``configure_optimizers`` gives ``weight_decay`` to ``self.net.weight`` only, a
log-scale board and one trainer that fits several models (3.7).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.distributions.multinomial import Multinomial

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


# ------------------------------------------------------------------ 2.6


def test_multinomial_frequencies_and_several_curves():
    torch.manual_seed(0)
    die = d2l.tensor([0.1, 0.2, 0.3, 0.4])
    counts = Multinomial(1000, die).sample()
    assert counts.shape == (4,)
    assert counts.sum().item() == 1000
    assert torch.allclose(counts / 1000, die, atol=0.05)
    draws = Multinomial(1, die).sample((5000,))  # one-hot rows, one per draw
    cum_counts = draws.cumsum(dim=0)
    estimates = cum_counts / cum_counts.sum(dim=1, keepdims=True)
    assert torch.allclose(estimates[-1], die, atol=0.03)

    d2l.set_figsize((4.5, 3.5))
    for i in range(4):
        d2l.plt.plot(d2l.numpy(estimates[:, i]), label=f"P(side={i})")
    d2l.plt.axhline(y=0.25, color="black", linestyle="dashed")
    d2l.plt.gca().set_xlabel("Samples")
    d2l.plt.gca().set_ylabel("Estimated probability")
    d2l.plt.legend()
    axes = d2l.plt.gca()
    assert len(axes.get_lines()) == 5  # four estimates and the dashed line
    assert [t.get_text() for t in axes.get_legend().get_texts()][:2] == [
        "P(side=0)",
        "P(side=1)",
    ]
    assert tuple(d2l.plt.gcf().get_size_inches()) == (4.5, 3.5)


def test_plot_draws_several_curves_against_one_x():
    x = d2l.arange(1, 101, dtype=d2l.float32)
    curves = [1 / x, 1 / d2l.torch.sqrt(x), d2l.ones_like(x) * 0.5]
    d2l.plot(
        x,
        curves,
        "n",
        "error",
        legend=["1/n", "1/sqrt(n)", "floor"],
        xscale="log",
        yscale="log",
        figsize=(4, 3),
    )
    axes = d2l.plt.gca()
    assert len(axes.get_lines()) == 3
    assert axes.get_xscale() == axes.get_yscale() == "log"
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "1/n",
        "1/sqrt(n)",
        "floor",
    ]


# ------------------------------------------------------------------ 3.7


class Data(d2l.DataModule):
    """Many features, few examples; every feature carries a little of the signal."""

    def __init__(self, num_train, num_val, num_inputs, batch_size):
        self.save_hyperparameters()  # no super().__init__(), as the book writes it
        n = num_train + num_val
        self.X = d2l.randn(n, num_inputs)
        noise = d2l.randn(n, 1) * 0.1
        w, b = d2l.ones((num_inputs, 1)) * 0.05, 0.3
        self.y = d2l.matmul(self.X, w) + b + noise

    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader([self.X, self.y], train, i)


def l2_penalty(w):
    return d2l.reduce_sum(w**2) / 2


class WeightDecayScratch(d2l.LinearRegressionScratch):
    def __init__(self, num_inputs, lambd, lr, sigma=0.01):
        super().__init__(num_inputs, lr, sigma)
        self.save_hyperparameters()

    def loss(self, y_hat, y):
        return super().loss(y_hat, y) + self.lambd * l2_penalty(self.w)


class WeightDecay(d2l.LinearRegression):
    def __init__(self, wd, lr):
        super().__init__(lr)
        self.save_hyperparameters()
        self.wd = wd

    def configure_optimizers(self):
        return torch.optim.SGD(
            [
                {"params": self.net.weight, "weight_decay": self.wd},
                {"params": self.net.bias},
            ],
            lr=self.lr,
        )


def test_weight_decay_in_the_book_idiom():
    d2l.seed(0)
    data = Data(num_train=16, num_val=80, num_inputs=60, batch_size=4)
    assert data.batch_size == 4
    assert len(data.train_dataloader()) == 4
    trainer = d2l.Trainer(max_epochs=10)  # one trainer, several fits

    def train_scratch(lambd):
        model = WeightDecayScratch(num_inputs=60, lambd=lambd, lr=0.01)
        model.board.yscale = "log"
        trainer.fit(model, data)
        assert model.board.render().axes[0].get_yscale() == "log"
        with warnings.catch_warnings():  # float() of a tensor that requires grad
            warnings.simplefilter("ignore", UserWarning)
            return float(l2_penalty(model.w)), model.board.data["val_loss"]

    free_norm, free_val = train_scratch(0)
    decayed_norm, decayed_val = train_scratch(3)
    assert decayed_norm < free_norm / 2  # the penalty keeps the weights small
    assert len(free_val) == len(decayed_val) == 10  # one validation point per epoch
    assert free_val[-1].x == 10

    def train_concise(wd):
        d2l.seed(5)  # the same initial weights and minibatches for every wd
        model = WeightDecay(wd=wd, lr=0.01)
        model.board.yscale = "log"
        trainer.fit(model, data)
        assert [g["weight_decay"] for g in trainer.optim.param_groups] == [wd, 0]
        return float(l2_penalty(model.get_w_b()[0]))

    assert train_concise(3) < 0.9 * train_concise(0)


def test_the_package_versions_have_the_book_call_shapes():
    d2l.seed(1)
    data = Data(num_train=16, num_val=32, num_inputs=10, batch_size=4)
    trainer = d2l.Trainer(max_epochs=3)
    scratch = d2l.WeightDecayScratch(num_inputs=10, lambd=3, lr=0.01)
    scratch.board.yscale = "log"
    trainer.fit(scratch, data)
    concise = d2l.WeightDecay(wd=3, lr=0.01)
    trainer.fit(concise, data)
    assert d2l.l2_penalty(scratch.w).item() > 0
    assert d2l.l2_penalty(concise.get_w_b()[0]).item() > 0
