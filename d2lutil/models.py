"""Models: linear regression, softmax regression and multilayer perceptrons.

Each model comes twice, as the chapters teach it: from scratch (parameters as
tensors, our own loss) and concise (``torch.nn`` layers and losses). The losses
and the accuracy check their labels with ``check_labels``.
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .training import SGD, Module

__all__ = [
    "LinearRegressionScratch",
    "LinearRegression",
    "Classifier",
    "SoftmaxRegressionScratch",
    "SoftmaxRegression",
    "MLPScratch",
    "MLP",
    "softmax",
    "cross_entropy",
    "relu",
    "check_labels",
]


class LinearRegressionScratch(Module):
    """Linear regression from scratch (Section 3.4).

    ``w`` and ``b`` are created as tensors with ``requires_grad=True``; assigned
    to the model, they become its parameters (see ``Module``).
    """

    def __init__(self, num_inputs: int, lr: float, sigma: float = 0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = torch.normal(0.0, sigma, size=(num_inputs, 1), requires_grad=True)
        self.b = torch.zeros(1, requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the predictions Xw + b."""
        return X @ self.w + self.b

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return half the mean of the squared errors."""
        return ((y_hat - y) ** 2).mean() / 2

    def configure_optimizers(self) -> SGD:
        """Return our from-scratch SGD over w and b."""
        return SGD([self.w, self.b], lr=self.lr)


class LinearRegression(Module):
    """Linear regression with ``nn.LazyLinear`` and ``F.mse_loss`` (Section 3.5).

    The layer learns its input size from the first batch and takes PyTorch's
    default initialisation then; use ``apply_init`` for another one.
    ``forward`` (apply ``self.net``) and ``configure_optimizers`` (PyTorch's
    minibatch SGD with learning rate ``lr``) are those of ``Module``.
    """

    def __init__(self, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the mean squared error (no factor 1/2)."""
        return F.mse_loss(y_hat, y)

    def get_w_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the learned weight, of shape (1, num_inputs), and bias, without gradient history."""
        return self.net.weight.detach(), self.net.bias.detach()


class Classifier(Module):
    """Base class of classification models: accuracy and cross-entropy (Sections 4.3, 4.5)."""

    def validation_step(self, batch: list[torch.Tensor]) -> None:
        """Plot loss and accuracy on one validation batch (Section 4.3)."""
        *inputs, Y = batch
        Y_hat = self(*inputs)
        self.plot("loss", self.loss(Y_hat, Y), train=False)
        self.plot("acc", self.accuracy(Y_hat, Y), train=False)

    def accuracy(
        self, Y_hat: torch.Tensor, Y: torch.Tensor, averaged: bool = True
    ) -> torch.Tensor:
        """Return the fraction of correct predictions, or one 0/1 per example (Section 4.3).

        Extra leading dimensions are flattened: one value per label.
        """
        Y = check_labels(Y, Y_hat)
        correct = (Y_hat.argmax(dim=-1).flatten() == Y.flatten()).float()
        return correct.mean() if averaged else correct

    def loss(
        self, Y_hat: torch.Tensor, Y: torch.Tensor, averaged: bool = True
    ) -> torch.Tensor:
        """Return the cross-entropy of logits ``Y_hat`` for labels ``Y``, or one per example (Section 4.5).

        Extra leading dimensions are flattened: one loss per label.
        """
        Y = check_labels(Y, Y_hat)
        logits = Y_hat.reshape(-1, Y_hat.shape[-1])  # one row of q logits per label
        losses = F.cross_entropy(logits, Y.flatten(), reduction="none")
        return losses.mean() if averaged else losses


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Turn each row of scores into probabilities (Section 4.4).

    Subtracting each row's maximum first changes nothing mathematically and
    keeps ``exp`` from overflowing.
    """
    exps = torch.exp(X - X.amax(dim=-1, keepdim=True))  # the largest becomes exp(0) = 1
    return exps / exps.sum(dim=-1, keepdim=True)


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the mean of -log(probability of the true class) (Section 4.4)."""
    y = check_labels(y, y_hat)
    p_true = y_hat.gather(1, y.reshape(-1, 1))  # row i: the entry in column y[i]
    return -p_true.log().mean()


class SoftmaxRegressionScratch(Classifier):
    """Softmax regression from scratch (Section 4.4).

    ``W`` and ``b`` become the model's parameters when they are assigned (see
    ``Module``), so ``parameters()`` yields them, in that order.
    """

    def __init__(
        self, num_inputs: int, num_outputs: int, lr: float, sigma: float = 0.01
    ):
        super().__init__()
        self.save_hyperparameters()
        self.W = torch.normal(
            0.0, sigma, size=(num_inputs, num_outputs), requires_grad=True
        )
        self.b = torch.zeros(num_outputs, requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten each image into a row of pixels and return its class probabilities."""
        logits = X.reshape(-1, self.num_inputs) @ self.W + self.b
        return softmax(logits)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return our from-scratch cross-entropy of the probabilities ``y_hat``."""
        return cross_entropy(y_hat, y)


class SoftmaxRegression(Classifier):
    """Softmax regression with ``nn.Flatten`` and ``nn.LazyLinear`` (Section 4.5).

    ``forward``, inherited from ``Module``, applies ``self.net`` and so returns
    the logits (unnormalised scores), not probabilities.
    """

    def __init__(self, num_outputs: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))


def relu(X: torch.Tensor) -> torch.Tensor:
    """Return max(X, 0) elementwise (Section 5.2).

    Positive entries pass unchanged, the rest become 0; at 0 the gradient is 0,
    as for ``torch.relu``.
    """
    return torch.where(X > 0, X, 0)


class MLPScratch(Classifier):
    """A multilayer perceptron with one hidden layer, from scratch (Section 5.2)."""

    def __init__(
        self,
        num_inputs: int,
        num_outputs: int,
        num_hiddens: int,
        lr: float,
        sigma: float = 0.01,
    ):
        super().__init__()
        self.save_hyperparameters()

        def layer(fan_in: int, fan_out: int) -> tuple[nn.Parameter, nn.Parameter]:
            # Weights drawn from N(0, sigma^2), biases zero.
            weight = nn.Parameter(sigma * torch.randn(fan_in, fan_out))
            return weight, nn.Parameter(torch.zeros(fan_out))

        self.W1, self.b1 = layer(num_inputs, num_hiddens)
        self.W2, self.b2 = layer(num_hiddens, num_outputs)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten, hidden layer with ReLU, output layer: return the logits."""
        H = relu(X.reshape(-1, self.num_inputs) @ self.W1 + self.b1)
        return H @ self.W2 + self.b2


class MLP(Classifier):
    """A multilayer perceptron with one hidden layer, with ``torch.nn`` (Section 5.2)."""

    def __init__(self, num_outputs: int, num_hiddens: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        layers = OrderedDict(
            flatten=nn.Flatten(),
            hidden=nn.LazyLinear(num_hiddens),
            relu=nn.ReLU(),
            output=nn.LazyLinear(num_outputs),
        )
        self.net = nn.Sequential(layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the logits of ``X``."""
        return self.net(X)


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
