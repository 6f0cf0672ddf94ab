"""Models: linear regression, softmax regression and multilayer perceptrons.

Each model comes twice, as the chapters teach it: from scratch (parameters as
tensors, our own loss) and concise (``torch.nn`` layers and losses).
"""

from __future__ import annotations

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

    ``w`` and ``b`` are plain tensors with ``requires_grad=True``;
    ``model.to(device)`` moves them too (see ``Module``).
    """

    def __init__(self, num_inputs: int, lr: float, sigma: float = 0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
        self.b = torch.zeros(1, requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the predictions Xw + b."""
        return torch.matmul(X, self.w) + self.b

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the mean of the squared errors halved."""
        l = (y_hat - y) ** 2 / 2  # noqa: E741
        return l.mean()

    def configure_optimizers(self) -> SGD:
        """Return our from-scratch SGD over w and b."""
        return SGD([self.w, self.b], self.lr)


class LinearRegression(Module):
    """Linear regression with ``nn.LazyLinear`` and ``nn.MSELoss`` (Section 3.5).

    The layer learns its input size from the first batch and takes PyTorch's
    default initialisation then; use ``apply_init`` for another one.
    """

    def __init__(self, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the predictions of the linear layer."""
        return self.net(X)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the mean squared error."""
        fn = nn.MSELoss()
        return fn(y_hat, y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Return PyTorch's minibatch SGD over the model's parameters."""
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the learned weight and bias."""
        return (self.net.weight.data, self.net.bias.data)


class Classifier(Module):
    """Base class of classification models: accuracy and cross-entropy (Sections 4.3, 4.5)."""

    def validation_step(self, batch: list[torch.Tensor]) -> None:
        """Plot loss and accuracy on one validation batch (Section 4.3)."""
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False)

    def accuracy(
        self, Y_hat: torch.Tensor, Y: torch.Tensor, averaged: bool = True
    ) -> torch.Tensor:
        """Return the fraction of correct predictions, or one 0/1 per example (Section 4.3)."""
        check_labels(Y, Y_hat.shape[-1])
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(dim=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def loss(
        self, Y_hat: torch.Tensor, Y: torch.Tensor, averaged: bool = True
    ) -> torch.Tensor:
        """Return the cross-entropy loss of logits ``Y_hat`` for labels ``Y`` (Section 4.5)."""
        check_labels(Y, Y_hat.shape[-1])
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Turn each row of scores into probabilities (Section 4.4).

    Subtracting each row's maximum first changes nothing mathematically and
    keeps ``exp`` from overflowing.
    """
    X_exp = torch.exp(X - X.max(dim=-1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=-1, keepdim=True)


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the mean of -log(probability of the true class) (Section 4.4)."""
    check_labels(y, y_hat.shape[-1])
    return -torch.log(y_hat[range(len(y_hat)), y]).mean()


class SoftmaxRegressionScratch(Classifier):
    """Softmax regression from scratch (Section 4.4)."""

    def __init__(
        self, num_inputs: int, num_outputs: int, lr: float, sigma: float = 0.01
    ):
        super().__init__()
        self.save_hyperparameters()
        self.W = torch.normal(
            0, sigma, size=(num_inputs, num_outputs), requires_grad=True
        )
        self.b = torch.zeros(num_outputs, requires_grad=True)

    def parameters(self) -> list[torch.Tensor]:
        """Return the trainable tensors W and b."""
        return [self.W, self.b]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten each image and return its class probabilities."""
        X = X.reshape((-1, self.W.shape[0]))
        return softmax(torch.matmul(X, self.W) + self.b)

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return our from-scratch cross-entropy of the probabilities ``y_hat``."""
        return cross_entropy(y_hat, y)


class SoftmaxRegression(Classifier):
    """Softmax regression with ``nn.Flatten`` and ``nn.LazyLinear`` (Section 4.5)."""

    def __init__(self, num_outputs: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the logits (unnormalised scores) of ``X``."""
        return self.net(X)


def relu(X: torch.Tensor) -> torch.Tensor:
    """Return max(X, 0) elementwise (Section 5.2)."""
    a = torch.zeros_like(X)
    return torch.max(X, a)


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
        self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten, hidden layer with ReLU, output layer: return the logits."""
        X = X.reshape((-1, self.num_inputs))
        H = relu(torch.matmul(X, self.W1) + self.b1)
        return torch.matmul(H, self.W2) + self.b2


class MLP(Classifier):
    """A multilayer perceptron with one hidden layer, with ``torch.nn`` (Section 5.2)."""

    def __init__(self, num_outputs: int, num_hiddens: int, lr: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.LazyLinear(num_hiddens),
            nn.ReLU(),
            nn.LazyLinear(num_outputs),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the logits of ``X``."""
        return self.net(X)


# ---------------------------------------------------------------- helpers


def check_labels(y: torch.Tensor, num_classes: int) -> None:
    """Raise a clear error unless ``y`` holds class indices 0 .. num_classes - 1 (Section 4.3).

    Float labels, or labels that do not fit the number of model outputs, would
    otherwise give silently wrong accuracies or (on a GPU) an opaque device-side
    assertion inside ``F.cross_entropy``.
    """
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(
            f"labels must be integer class indices, got a {y.dtype} tensor; "
            "convert them with y.long()."
        )
    if y.numel() == 0:
        return
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"labels must lie between 0 and {num_classes - 1} (the model has "
            f"{num_classes} outputs), got labels from {low} to {high}. Check the labels "
            "of the data, or give the model as many outputs as there are classes."
        )
