"""Code written in the idiom of *Dive into Deep Learning* runs on d2lutil, end to end.

The programs below are ours, but they reach everything through ``d2l.`` as that
book's PyTorch code does: framework-neutral aliases (``d2l.reshape``,
``d2l.matmul``, ``d2l.reduce_sum``), ``class X(d2l.nn_Module, d2l.HyperParameters)``,
``@d2l.add_to_class`` overrides of package methods, ``d2l.plt``, and the board's
points read as ``board.data['val_loss'][-1].y``.
"""

from __future__ import annotations

import pytest

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


class ScratchRegression(d2l.Module):
    def __init__(self, num_inputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = d2l.normal(0, sigma, (num_inputs, 1), requires_grad=True)
        self.b = d2l.zeros(1, requires_grad=True)


@d2l.add_to_class(ScratchRegression)
def forward(self, X):
    return d2l.matmul(X, self.w) + self.b


@d2l.add_to_class(ScratchRegression)
def loss(self, y_hat, y):
    squared = (y_hat - d2l.reshape(y, y_hat.shape)) ** 2
    return d2l.reduce_mean(squared) / 2


@d2l.add_to_class(ScratchRegression)
def configure_optimizers(self):
    return d2l.SGD([self.w, self.b], self.lr)


def test_scratch_regression_in_the_book_idiom():
    d2l.seed(1)
    true_w = d2l.tensor([1.5, -2.0, 0.5])
    data = d2l.SyntheticRegressionData(true_w, 0.7, noise=0.01, num_train=800)
    model = ScratchRegression(3, lr=0.05)
    d2l.Trainer(max_epochs=4).fit(model, data)
    error = true_w - d2l.reshape(model.w.detach(), true_w.shape)
    assert float(d2l.reduce_sum(d2l.abs(error))) < 0.05
    assert model.board.data["val_loss"][-1].y < 1e-3
    assert model.board.data["val_loss"][-1].x == 4


class TwoLayer(d2l.nn_Module, d2l.HyperParameters):
    """A plain torch module that saves its arguments, as the book writes small nets."""

    def __init__(self, num_hiddens, num_outputs):
        super().__init__()
        self.save_hyperparameters()
        self.net = d2l.nn.Sequential(
            d2l.nn.LazyLinear(num_hiddens),
            d2l.nn.ReLU(),
            d2l.nn.LazyLinear(num_outputs),
        )

    def forward(self, X):
        return self.net(X)


def test_nn_module_with_hyperparameters():
    net = TwoLayer(8, 3)
    assert net.hparams == {"num_hiddens": 8, "num_outputs": 3}
    out = net(d2l.rand(5, 4))
    assert d2l.size(out) == 15
    assert out.shape == (5, 3)


class Blobs(d2l.DataModule):
    """Three well-separated clouds of points, labels stored as floats."""

    def __init__(self, n=600, batch_size=50):
        super().__init__()
        self.save_hyperparameters()
        centres = d2l.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
        labels = d2l.arange(n) % 3
        self.X = centres[labels] + 0.5 * d2l.randn(n, 2)
        self.y = d2l.astype(labels, d2l.float32)  # float labels, as book data can be

    def get_dataloader(self, train):
        half = self.n // 2
        i = slice(0, half) if train else slice(half, None)
        return self.get_tensorloader((self.X, self.y), train, i)


def test_classifier_with_an_add_to_class_loss_override(monkeypatch):
    # Overriding Classifier.loss with the aliases must keep training working; the
    # override is undone after the test (monkeypatch), so other tests see ours.
    monkeypatch.setattr(d2l.Classifier, "loss", d2l.Classifier.loss)

    @d2l.add_to_class(d2l.Classifier)
    def loss(self, Y_hat, Y, averaged=True):
        flat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        targets = d2l.astype(d2l.reshape(Y, (-1,)), d2l.int64)
        losses = d2l.F.cross_entropy(flat, targets, reduction="none")
        return d2l.reduce_mean(losses) if averaged else losses

    d2l.seed(2)
    data = Blobs()
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.5)
    d2l.Trainer(max_epochs=5).fit(model, data)
    assert model.board.data["val_acc"][-1].y > 0.95
    X, y = next(iter(data.val_dataloader()))
    preds = d2l.argmax(model(X), axis=1)
    assert float(d2l.reduce_mean(d2l.astype(preds == y, d2l.float32))) > 0.95


def test_plotting_through_d2l_plt():
    x = d2l.arange(0, 3, 0.1)
    d2l.plot(x, [d2l.sin(x), d2l.cos(x)], "x", "f(x)", legend=["sin", "cos"])
    axes = d2l.plt.gca()
    assert len(axes.get_lines()) == 2
    assert d2l.numpy(x).shape == (30,)
    assert axes.get_ylabel() == "f(x)"
