"""Models: linear regression, softmax regression and multilayer perceptrons.

Each model comes twice, as the chapters teach it: from scratch (parameters as
tensors, our own loss) and concise (``torch.nn`` layers and losses). The losses
and the accuracy check their labels with ``check_labels``.
"""

from collections import OrderedDict

import numpy as np
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
    "check_targets",
    "check_probabilities",
    "l2_penalty",
    "WeightDecayScratch",
    "WeightDecay",
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
        y = check_targets(y, y_hat)  # the shape of y_hat, or a clear error
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
        y = check_targets(y, y_hat)  # the shape of y_hat, or a clear error
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
    check_probabilities(y_hat)  # a matrix of probabilities, one row per example
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


# Looking at values on a GPU waits for the GPU; the checks below do it on the first
# call and then every LABEL_CHECK_EVERY calls there (always on the CPU, where it is free).
LABEL_CHECK_EVERY = 100
_label_calls = {"n": 0}
_probability_calls = {"n": 0}


def _look(tensor: torch.Tensor, calls: dict[str, int]) -> bool:
    calls["n"] += 1
    return tensor.device.type == "cpu" or calls["n"] % LABEL_CHECK_EVERY == 1


def check_targets(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """Return ``y``, checked to be targets of the shape of the predictions ``y_hat`` (Section 3.4).

    A squared loss compares each prediction with its own target. Predictions of
    shape (n, 1) against targets (n,) would broadcast to an (n, n) matrix that
    compares every prediction with every target, and training would converge,
    silently, to the wrong model.
    """
    for value, what in ((y_hat, "predictions"), (y, "targets")):
        if not torch.is_tensor(value):
            raise TypeError(
                f"the {what} must be a tensor, got {type(value).__name__}; e.g. "
                "loss(model(X), y) with tensors X and y."
            )
    if y.shape != y_hat.shape:
        try:
            spread = tuple(torch.broadcast_shapes(y.shape, y_hat.shape))
        except RuntimeError:
            spread = None
        effect = (
            f" would broadcast to {spread}, comparing predictions with other examples' "
            "targets,"
            if spread is not None
            else ""
        )
        raise ValueError(
            f"predictions of shape {tuple(y_hat.shape)} and targets of shape "
            f"{tuple(y.shape)} differ: a squared loss compares each prediction with its "
            f"own target, and these{effect} so training would learn the wrong model. "
            "Make them agree, e.g. targets y of shape (n, 1) and a forward that returns "
            "one column, X @ w + b with w of shape (num_inputs, 1)."
        )
    if y.numel() == 0:
        raise ValueError(
            f"an empty batch: predictions and targets of shape {tuple(y.shape)}; the "
            "loss of no examples is not a number. Check how the batch was selected, "
            "e.g. X[:32], y[:32]."
        )
    return y


def check_probabilities(y_hat: torch.Tensor) -> None:
    """Check that ``y_hat`` is a matrix of probabilities, one row per example (Section 4.4).

    Raw scores (logits) instead of probabilities make ``cross_entropy`` take the
    log of negative numbers. The values are looked at as the labels are.
    """
    if not torch.is_tensor(y_hat) or not y_hat.dtype.is_floating_point:
        got = (
            f"a {y_hat.dtype} tensor"
            if torch.is_tensor(y_hat)
            else type(y_hat).__name__
        )
        raise TypeError(
            f"cross_entropy takes probabilities as a float tensor, got {got}; e.g. "
            "cross_entropy(softmax(logits), y)."
        )
    if y_hat.ndim != 2:
        raise ValueError(
            f"cross_entropy takes a matrix of probabilities, one row per example, got "
            f"shape {tuple(y_hat.shape)}; flatten the leading dimensions of both, e.g. "
            "cross_entropy(y_hat.reshape(-1, y_hat.shape[-1]), y.reshape(-1))."
        )
    if y_hat.numel() and _look(y_hat, _probability_calls):
        values = y_hat.detach()  # read without a warning about gradients
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"cross_entropy takes probabilities, numbers from 0 to 1, got values "
                f"from {low:.4g} to {high:.4g}, which look like scores (logits); apply "
                "softmax first, e.g. cross_entropy(softmax(logits), y), or use "
                "F.cross_entropy(logits, y), which takes the logits."
            )


def check_labels(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """Return ``y`` as int64 class indices that fit predictions ``y_hat`` (Section 4.3).

    ``y_hat`` holds one row of scores per label (its last dimension is the
    number of classes) and ``y`` one label per row: the shape of ``y_hat``
    without its last dimension, as a column with a trailing 1, or flattened.
    Lists and NumPy arrays of labels are turned into tensors; float labels are
    accepted when they are whole numbers, as d2l's are. Anything else (one-hot
    rows, shapes that do not line up, an empty batch, labels out of range,
    predictions that are not numbers) raises an error naming both shapes.
    """
    if not torch.is_tensor(y_hat):
        raise TypeError(
            f"the predictions must be a tensor of class scores, got "
            f"{type(y_hat).__name__}; e.g. accuracy(model(X), y)."
        )
    if isinstance(y, (list, tuple, range, np.ndarray)):
        y = torch.as_tensor(np.asarray(y), device=y_hat.device)
    if not torch.is_tensor(y):
        raise TypeError(
            f"the labels must be class indices in a tensor, got {type(y).__name__}; "
            "e.g. y = torch.tensor([0, 2, 1])."
        )
    shapes = f"predictions {tuple(y_hat.shape)}, labels {tuple(y.shape)}"
    rows = y_hat.shape[:-1]
    if y_hat.ndim >= 2 and y_hat.shape[-1] > 1 and y.shape == y_hat.shape:
        raise ValueError(
            f"the labels have the shape of the predictions ({shapes}): they look like "
            "one-hot rows (or probabilities), and must be class indices, one per row; "
            "e.g. y.argmax(dim=-1)."
        )
    lined_up = y.shape in (rows, (*rows, 1)) or (y.ndim == 1 and len(y) == rows.numel())
    if y_hat.ndim < 2 or not lined_up:
        if y_hat.ndim < 2:
            hint = "for the scores of one example, e.g. y_hat.reshape(1, -1)"
        elif y.ndim > 1 and sorted(y.shape) == sorted(rows):
            hint = f"the labels look transposed, e.g. y.T, of shape {tuple(rows)}"
        else:
            hint = "take both from the same examples, e.g. accuracy(model(X), y)"
        raise ValueError(
            f"need one row of class scores per label, got {shapes}; {hint}."
        )
    if y.numel() == 0:
        raise ValueError(
            f"an empty batch: {shapes}; the loss and the accuracy of no examples are "
            "not numbers. Check how the batch was selected, e.g. X[:32], y[:32]."
        )
    if y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(
            f"labels must be class indices, got a {y.dtype} tensor; e.g. "
            "y = torch.tensor([0, 2, 1])."
        )
    if not _look(y, _label_calls):
        return y.long()
    if y_hat.dtype.is_floating_point and not torch.isfinite(y_hat).all():
        bad = int((~torch.isfinite(y_hat)).reshape(-1, y_hat.shape[-1]).any(1).sum())
        raise FloatingPointError(
            f"the predictions hold nan or inf in {bad} of {rows.numel()} rows, so "
            "they predict no class. In training this means the model diverged: "
            "create it again with a smaller lr; otherwise check the inputs, e.g. "
            "torch.isfinite(X).all()."
        )
    if y.dtype.is_floating_point:
        if not torch.isfinite(y).all():
            raise ValueError(
                "the labels hold nan or inf, not class indices; check the data, e.g. "
                "torch.isfinite(y).all()."
            )
        if (y != y.round()).any():
            raise TypeError(
                "float labels must be whole numbers (class indices), got fractions "
                f"such as {float(y[y != y.round()][0])}; e.g. y = torch.tensor([0, 2, 1])."
            )
    q = y_hat.shape[-1]
    if int(y.min()) < 0 or int(y.max()) >= q:
        raise ValueError(
            f"labels must lie between 0 and {q - 1} (the model has {q} outputs), got "
            f"labels from {int(y.min())} to {int(y.max())}. Check the labels of the "
            f"data, or give the model as many outputs as there are classes, e.g. "
            f"num_outputs={int(y.max()) + 1}."
        )
    return y.long()


def l2_penalty(w: torch.Tensor) -> torch.Tensor:
    """Return half the squared L2 norm of ``w``, the penalty of weight decay (Section 3.7)."""
    return (w**2).sum() / 2


class WeightDecayScratch(LinearRegressionScratch):
    """Linear regression from scratch whose loss adds ``lambd * l2_penalty(w)`` (Section 3.7).

    Only the weights are penalized, not the bias.
    """

    def __init__(self, num_inputs: int, lambd: float, lr: float, sigma: float = 0.01):
        super().__init__(num_inputs, lr, sigma)
        self.save_hyperparameters()
        if not lambd >= 0:  # a negative penalty would reward large weights
            raise ValueError(f"lambd must be 0 or more, got {lambd!r}.")

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the scratch loss plus the weight penalty."""
        return super().loss(y_hat, y) + self.lambd * l2_penalty(self.w)


class WeightDecay(LinearRegression):
    """Concise linear regression with weight decay ``wd`` on the weights, not the bias (Section 3.7)."""

    def __init__(self, wd: float, lr: float):
        super().__init__(lr)
        self.save_hyperparameters()

    def configure_optimizers(self) -> torch.optim.SGD:
        """Return PyTorch's SGD that decays the layer's weight but not its bias."""
        groups = [
            {"params": self.net.weight, "weight_decay": self.wd},
            {"params": self.net.bias, "weight_decay": 0.0},
        ]
        return torch.optim.SGD(groups, lr=self.lr)


# ---------------------------------------------------------- Section 5.4


def xavier_std(fan_in: int, fan_out: int) -> float:
    """The standard deviation of Xavier (Glorot) initialisation, sqrt(2 / (fan_in + fan_out)) (Section 5.4).

    It keeps the variance of a layer's outputs and of its input gradients both near that
    of its inputs and output gradients, a compromise between 1 / fan_in and 1 / fan_out.
    """
    if fan_in < 1 or fan_out < 1:
        raise ValueError(
            f"fan_in and fan_out must be positive, got {fan_in}, {fan_out}."
        )
    return (2 / (fan_in + fan_out)) ** 0.5


def he_std(fan_in: int) -> float:
    """The standard deviation of He (Kaiming) initialisation for ReLU layers, sqrt(2 / fan_in) (Section 5.4)."""
    if fan_in < 1:
        raise ValueError(f"fan_in must be positive, got {fan_in}.")
    return (2 / fan_in) ** 0.5


def init_xavier(module: nn.Module) -> None:
    """Give a linear layer normal weights with standard deviation ``xavier_std`` and zero biases (Section 5.4).

    Other modules are left alone, so that ``model.apply(init_xavier)`` or
    ``model.apply_init(inputs, init_xavier)`` initialises every linear layer of a model.
    """
    if isinstance(module, nn.Linear):
        fan_out, fan_in = module.weight.shape  # nn.Linear stores (outputs, inputs)
        nn.init.normal_(module.weight, 0.0, xavier_std(fan_in, fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def init_he(module: nn.Module) -> None:
    """Give a linear layer normal weights with standard deviation ``he_std`` and zero biases (Section 5.4).

    Other modules are left alone, as by ``init_xavier``.
    """
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, he_std(module.weight.shape[1]))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# ---------------------------------------------------------- Section 5.6


def dropout_layer(X: torch.Tensor, dropout: float) -> torch.Tensor:
    """Zero each entry of ``X`` with probability ``dropout``, scale the others by 1 / (1 - dropout) (Section 5.6).

    Every entry keeps its expected value. The random mask is drawn on the device of ``X``.
    """
    if not 0 <= dropout <= 1:
        raise ValueError(
            f"dropout must be a probability between 0 and 1, got {dropout}."
        )
    if dropout == 1:  # all dropped: 1 / (1 - dropout) must not be computed
        return torch.zeros_like(X)
    # An entry is kept with probability 1 - dropout; the mask is made where X lives.
    keep = torch.rand(X.shape, device=X.device) >= dropout
    return X * keep / (1 - dropout)


class DropoutMLPScratch(Classifier):
    """An MLP with two hidden layers and dropout after each, dropout from scratch (Section 5.6).

    The layers are ``nn.LazyLinear``; dropout (``dropout_layer``) acts only in training mode.
    """

    def __init__(
        self,
        num_outputs: int,
        num_hiddens_1: int,
        num_hiddens_2: int,
        dropout_1: float,
        dropout_2: float,
        lr: float,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.hidden_1 = nn.LazyLinear(num_hiddens_1)
        self.hidden_2 = nn.LazyLinear(num_hiddens_2)
        self.output = nn.LazyLinear(num_outputs)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten; two hidden layers, each ReLU then dropout while training; return the logits."""
        H = X.flatten(start_dim=1)
        hidden = ((self.hidden_1, self.dropout_1), (self.hidden_2, self.dropout_2))
        for layer, dropout in hidden:
            H = relu(layer(H))
            if self.training:
                H = dropout_layer(H, dropout)
        return self.output(H)


class DropoutMLP(Classifier):
    """An MLP with two hidden layers and ``nn.Dropout`` after each (Section 5.6)."""

    def __init__(
        self,
        num_outputs: int,
        num_hiddens_1: int,
        num_hiddens_2: int,
        dropout_1: float,
        dropout_2: float,
        lr: float,
    ):
        super().__init__()
        self.save_hyperparameters()
        layers = OrderedDict(
            flatten=nn.Flatten(),
            hidden_1=nn.LazyLinear(num_hiddens_1),
            relu_1=nn.ReLU(),
            dropout_1=nn.Dropout(dropout_1),
            hidden_2=nn.LazyLinear(num_hiddens_2),
            relu_2=nn.ReLU(),
            dropout_2=nn.Dropout(dropout_2),
            output=nn.LazyLinear(num_outputs),
        )
        self.net = nn.Sequential(layers)


__all__ += [
    "xavier_std",
    "he_std",
    "init_xavier",
    "init_he",
    "dropout_layer",
    "DropoutMLPScratch",
    "DropoutMLP",
]


# Lazy layers on torch 2.0-2.3 (appended for issue 20, the tested floors). Those releases
# warn "Lazy modules are a new feature under heavy development ..." whenever a lazy layer
# (nn.LazyLinear, Section 3.5) is made; torch 2.4 dropped that notice. d2lutil supports
# torch 2.0 up, so there it ignores exactly that notice: a notebook prints the same on every
# supported torch. Newer torch gets no filter at all.
def _ignore_lazy_layer_notice() -> None:
    """On torch before 2.4, ignore its notice that lazy layers are a new feature."""
    if torch.__version__ < (2, 4):
        import warnings

        warnings.filterwarnings(
            "ignore",
            message="Lazy modules are a new feature under heavy development",
            category=UserWarning,
            module=r"torch\.nn\.modules\.lazy",
        )


_ignore_lazy_layer_notice()
