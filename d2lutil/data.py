"""Data: data modules, a fast in-memory loader, and the checks of their arguments.

``DataModule`` (Section 3.2) hands the Trainer its training and validation
loaders. A whole dataset is kept in memory as tensors; ``TensorLoader`` makes
each batch by indexing those tensors with a permutation drawn from its own
seeded generator: no per-example Python work, no worker processes.
``SyntheticRegressionData`` (Section 3.3) and ``FashionMNIST`` (Section 4.2)
are the datasets of the chapters.

Fashion-MNIST is read, in this order, from ``root=`` or the data directory
(``$D2LUTIL_DATA``, default ``~/.cache/d2lutil``), from Debian's
``/usr/share/datasets/fashion-mnist/``, or downloaded from the official
mirrors; every file is checked by the SHA-256 of its contents (see
``d2lutil._datasets``).
"""

from __future__ import annotations

import math
import operator
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from ._datasets import DATA_URL, data_dir, download, extract, fashion_mnist_array
from .base import HyperParameters, check_hparams, is_int, is_real
from .plotting import show_images

__all__ = [
    "data_dir",
    "DataModule",
    "TensorLoader",
    "SyntheticRegressionData",
    "FashionMNIST",
    "load_fashion_mnist",
    "read_fashion_mnist",
    "check_w_b",
    "check_size",
    "check_memory",
    "check_class_numbers",
    "download",
    "extract",
    "DATA_URL",
    "k_fold_indices",
    "SensorArrayData",
]

Size = tuple[int, int]  # (height, width) of an image


class TensorLoader:
    """Iterate over tensors in minibatches, shuffled afresh every epoch (Section 3.3).

    ``tensors`` share their first dimension (the examples). With
    ``shuffle=True`` each pass uses a new permutation from the loader's own
    ``torch.Generator``, seeded by ``seed`` (by default drawn from torch's
    global generator, so ``d2l.seed(0)`` makes every run repeat). The last
    batch holds the remaining examples and may be smaller.
    """

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        batch_size: int,
        shuffle: bool = False,
        seed: int | None = None,
    ):
        _check_loader_args(tensors, batch_size)
        self.tensors = tuple(tensors)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(torch.randint(2**62, ())) if seed is None else int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    @property
    def num_examples(self) -> int:
        """The number of examples (rows) the loader goes through per epoch."""
        return len(self.tensors[0])

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_examples
        if not self.shuffle:  # slices: views, no copy
            for start in range(0, n, self.batch_size):
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
            return
        order = torch.randperm(n, generator=self.generator)
        order = order.to(
            self.tensors[0].device
        )  # on the data's device: no copy per batch
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield tuple(t.index_select(0, idx) for t in self.tensors)

    def to(self, device: torch.device | str) -> TensorLoader:
        """Copy the loader's tensors to ``device`` once (in place) and return the loader."""
        self.tensors = tuple(t.to(device) for t in self.tensors)
        return self

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        batches = f"{len(self)} batches of {self.batch_size}"
        return f"TensorLoader({batches}, tensors {shapes}, shuffle={self.shuffle})"


class DataModule(HyperParameters):
    """Base class of the datasets: provides the training and validation loaders (Section 3.2).

    ``root`` is where files are looked for (``None``: the data directory
    ``data_dir()``); ``num_workers`` is accepted for compatibility with d2l
    and not used, since the in-memory loader needs no worker processes.
    """

    def __init__(self, root: str | os.PathLike | None = None, num_workers: int = 0):
        self.save_hyperparameters()

    @property
    def root(self) -> str | os.PathLike:
        """The folder of the data files: ``root``, or ``str(data_dir())`` for ``None`` (Section 3.2).

        d2l's code joins file names to it (``d2l.download(url, self.root, sha1)``,
        ``self.root + '/name'``), so ``None`` is read as the data directory, a string.
        """
        root = self.__dict__.get("_root")
        return str(data_dir()) if root is None else root

    @root.setter
    def root(self, value: str | os.PathLike | None) -> None:
        self._root = value

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Return the loader of the training (``train=True``) or validation data."""
        raise NotImplementedError(
            "a subclass of DataModule must define get_dataloader(train)"
        )

    def train_dataloader(self) -> TensorLoader:
        """Return the training loader (Section 3.2)."""
        return self.get_dataloader(train=True)

    def val_dataloader(self) -> TensorLoader:
        """Return the validation loader (Section 3.2)."""
        return self.get_dataloader(train=False)

    def get_tensorloader(
        self,
        tensors: Sequence[torch.Tensor],
        train: bool,
        indices: slice | torch.Tensor = slice(0, None),
    ) -> TensorLoader:
        """Return a loader over the rows ``indices`` of ``tensors``, shuffled if ``train`` (Section 3.3)."""
        selected = [tensor[indices] for tensor in tensors]
        return TensorLoader(selected, self.batch_size, shuffle=train)


class SyntheticRegressionData(DataModule):
    """Synthetic data for linear regression: y = Xw + b + noise (Section 3.3)."""

    def __init__(
        self,
        w: torch.Tensor,
        b: float,
        noise: float = 0.01,
        num_train: int = 1000,
        num_val: int = 1000,
        batch_size: int = 32,
    ):
        super().__init__()
        self.save_hyperparameters()
        check_w_b(w, b)
        n = num_train + num_val
        self.X = torch.randn(n, len(w))
        epsilon = noise * torch.randn(n, 1)
        self.y = self.X @ w.reshape(-1, 1) + b + epsilon

    def get_dataloader(self, train: bool) -> TensorLoader:
        """The first ``num_train`` examples train, the rest validate (Section 3.3)."""
        n = self.num_train
        tensors = (self.X[:n], self.y[:n]) if train else (self.X[n:], self.y[n:])
        return self.get_tensorloader(tensors, train)


class FashionMNIST(DataModule):
    """The Fashion-MNIST dataset of 28 x 28 grayscale clothing images (Section 4.2).

    ``self.train`` (60,000 examples) and ``self.val`` (10,000) are
    ``TensorDataset``s of images and labels: ``len(data.train)`` is 60000,
    ``data.train[i]`` is one (image, label) pair, and ``data.train.tensors`` the
    pair of whole tensors: images (N, 1, H, W) with values in [0, 1], labels 0 to 9.
    Images are resized only when ``resize`` differs from (28, 28).
    """

    def __init__(
        self,
        batch_size: int = 64,
        resize: int | Size = (28, 28),
        root: str | os.PathLike | None = None,
    ):
        super().__init__(root=root)
        self.save_hyperparameters()
        # The memory for both splits, checked once before loading either:
        size = check_memory(70_000, resize)  # the checked (height, width)
        self.train = TensorDataset(
            *read_fashion_mnist(train=True, size=size, root=root)
        )
        self.val = TensorDataset(*read_fashion_mnist(train=False, size=size, root=root))

    def text_labels(self, indices: Iterable[int] | torch.Tensor) -> list[str]:
        """Return the names of the classes with numbers ``indices`` (Section 4.2).

        ``indices`` may be a tensor (on any device), a list, a range or one
        number; float labels that are whole numbers are accepted, as in d2l.
        """
        names = (
            "t-shirt",
            "trouser",
            "pullover",
            "dress",
            "coat",
            "sandal",
            "shirt",
            "sneaker",
            "bag",
            "ankle boot",
        )
        numbers = torch.as_tensor(indices).tolist()  # plain Python numbers
        numbers = check_class_numbers(numbers, len(names))  # ints from 0 to 9
        return [names[k] for k in numbers]

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Return the training loader (shuffled) or the validation loader (Section 4.2)."""
        tensors = (self.train if train else self.val).tensors
        return self.get_tensorloader(tensors, train)

    def visualize(
        self,
        batch: Sequence[torch.Tensor],
        nrows: int = 1,
        ncols: int = 8,
        labels: list[str] | None = None,
    ) -> None:
        """Show the images of ``batch`` with their class names as titles (Section 4.2).

        ``labels``, if given, replaces the class names as titles.
        """
        images, classes = batch
        titles = labels or self.text_labels(classes)
        show_images(images.squeeze(1), nrows, ncols, titles=titles)


def load_fashion_mnist(
    train: bool = True,
    resize: int | Size = (28, 28),
    root: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST as tensors: images (N, 1, H, W) float32 in [0, 1], labels (N,) int64.

    ``train=True`` gives the 60,000 training examples, ``False`` the 10,000
    test examples (Section 4.2). Files come from ``root``, the data directory,
    Debian's copy or a verified download, in that order. ``check_memory``
    refuses first a ``resize`` whose images would not fit in memory.
    """
    size = check_memory(60_000 if train else 10_000, resize)
    return read_fashion_mnist(train, size, root)


def read_fashion_mnist(
    train: bool = True,
    size: Size = (28, 28),
    root: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``load_fashion_mnist`` without the memory check, for a checked ``size`` (Section 4.2).

    ``FashionMNIST`` checks the memory of both splits once, then reads each.
    Images are filled into one preallocated tensor, 4,096 at a time, resized
    (bilinear, antialiased) only when ``size`` differs from (28, 28).
    """
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(
            "train must be True (the 60,000 training images) or False (the 10,000 "
            f"test images, our validation set), got {train!r}; e.g. "
            "load_fashion_mnist(train=False)."
        )
    split = "train" if train else "t10k"
    images = fashion_mnist_array(f"{split}-images-idx3-ubyte", root)
    labels = fashion_mnist_array(f"{split}-labels-idx1-ubyte", root)
    X = torch.empty(len(images), 1, *size)
    for i in range(0, len(images), 4096):
        part = torch.tensor(images[i : i + 4096]).unsqueeze(1).float().div_(255)
        if tuple(size) != tuple(part.shape[-2:]):
            part = F.interpolate(part, size=size, mode="bilinear", antialias=True)
            part.clamp_(0, 1)
        X[i : i + 4096] = part
    return X, torch.from_numpy(labels.astype("int64"))


# ---------------------------------------------------------------- checks


def check_w_b(w: torch.Tensor, b: Any) -> None:
    """Check that ``w`` is a 1-D float weight tensor and ``b`` one number (Section 3.3).

    Every weight and the bias must be finite: one ``nan`` makes every label
    ``nan``. ``b`` may be a Python or NumPy number or a one-element tensor.
    """
    if not isinstance(w, torch.Tensor) or w.ndim != 1 or len(w) == 0:
        got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
        raise ValueError(
            f"w must be a 1-D tensor of weights, one per feature, got {got}; "
            "e.g. w=torch.tensor([2, -3.4])."
        )
    features = torch.get_default_dtype()  # the dtype of torch.randn's features
    if w.dtype != features:
        numpy = " (NumPy's default)" if w.dtype == torch.float64 else ""
        raise TypeError(
            f"w must hold {features} numbers, as the features do, got a {w.dtype} "
            f"tensor{numpy}; e.g. w=torch.tensor([2.0, -3.4]) or w.to({features})."
        )
    if not torch.isfinite(w).all():
        raise ValueError(
            f"w must hold finite numbers, got {w.tolist()}, which would make labels "
            "nan; e.g. w=torch.tensor([2, -3.4])."
        )
    if torch.is_tensor(b):
        one_number = b.numel() == 1 and not b.dtype.is_complex
    else:
        one_number = is_real(b)
    if not one_number:
        got = f"a tensor of shape {tuple(b.shape)}" if torch.is_tensor(b) else repr(b)
        raise TypeError(f"b must be a single number (the bias), got {got}; e.g. b=4.2.")
    bias = float(b.detach()) if torch.is_tensor(b) else float(b)
    if not math.isfinite(bias):
        raise ValueError(
            f"b must be a finite number, got {bias}, which would make every label "
            "nan; e.g. b=4.2."
        )


def check_class_numbers(numbers: Any, num_classes: int) -> list[int]:
    """Return class numbers (one or several, ints or whole floats) as a list of ints (Section 4.2).

    Each must lie between 0 and ``num_classes - 1``: a negative number would
    silently count from the end of the list of names.
    """
    numbers = numbers if isinstance(numbers, list) else [numbers]
    for k in numbers:
        if isinstance(k, bool) or not is_real(k) or not math.isfinite(k) or k != int(k):
            raise TypeError(
                f"class numbers must be whole numbers, got {k!r}; e.g. "
                "text_labels([0, 9]) or text_labels(y) for a tensor of labels."
            )
        if not 0 <= k < num_classes:
            raise ValueError(
                f"class numbers lie between 0 and {num_classes - 1}, got {int(k)}; "
                f"e.g. text_labels(range({num_classes})) for every name."
            )
    return [int(k) for k in numbers]


def check_size(size: Any, name: str = "resize") -> Size:
    """Return ``size`` (an int or a pair of ints) as a (height, width) pair of ints."""
    pair = (size, size) if is_int(size) else size
    is_pair = isinstance(pair, (tuple, list)) and len(pair) == 2
    if not is_pair or not all(is_int(s) and s > 0 for s in pair):
        raise ValueError(
            f"{name} must be a positive integer or a pair of them (height, width), "
            f"got {size!r}; e.g. {name}=(28, 28)."
        )
    return int(pair[0]), int(pair[1])


def available_memory() -> int | None:
    """Bytes of memory available for new data (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            found = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read(), re.M)
    except OSError:  # not Linux
        return None
    return int(found.group(1)) * 1024 if found else None


def check_memory(num_images: int, resize: Any) -> Size:
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


def _check_loader_args(tensors: Any, batch_size: int) -> None:
    check_hparams(TensorLoader, {"batch_size": batch_size})
    if torch.is_tensor(tensors):
        raise TypeError(
            "TensorLoader takes a tuple of tensors, got one tensor of shape "
            f"{tuple(tensors.shape)}, whose rows it would take for tensors; e.g. "
            "TensorLoader((X, y), batch_size=32), or TensorLoader((X,), 32) for one."
        )
    tensors = tuple(tensors)
    if not tensors or not all(torch.is_tensor(t) and t.ndim > 0 for t in tensors):
        got = ", ".join(type(t).__name__ for t in tensors) or "nothing"
        raise TypeError(
            "TensorLoader needs one or more tensors of at least one dimension, got "
            f"{got}; e.g. TensorLoader((torch.tensor(X), torch.tensor(y)), 32)."
        )
    if len({len(t) for t in tensors}) != 1:
        raise ValueError(
            "the tensors must have the same number of examples (first dimension), "
            f"got {[len(t) for t in tensors]}; e.g. TensorLoader((X[:n], y[:n]), 32)."
        )


# ------------------------------------------- model selection and weight decay


def k_fold_indices(
    num_examples: int, k: int, seed: int | None = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (training, validation) indices of each fold of K-fold cross-validation (Section 3.6).

    The examples ``0, ..., num_examples - 1`` are split into ``k`` folds whose sizes
    differ by at most one; every example lies in exactly one validation fold and in
    the training part of the other ``k - 1``. ``seed`` shuffles the examples first,
    with a generator of its own (the same seed, the same folds); ``seed=None`` keeps
    their order, so that each fold is a block of consecutive examples (for data in
    time order). Indices are int64 tensors in increasing order.
    """
    num_examples, k = operator.index(num_examples), operator.index(k)
    if not 2 <= k <= num_examples:
        raise ValueError(
            f"k_fold_indices: k must be from 2 to num_examples={num_examples}, "
            f"got k={k}; e.g. k_fold_indices({max(num_examples, 2)}, 2)."
        )
    order = torch.arange(num_examples)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(num_examples, generator=generator)
    folds = []
    for fold in torch.tensor_split(order, k):
        in_fold = torch.zeros(num_examples, dtype=torch.bool)
        in_fold[fold] = True
        folds.append(
            (torch.nonzero(~in_fold).flatten(), torch.nonzero(in_fold).flatten())
        )
    return folds


class SensorArrayData(DataModule):
    """An electronic nose: readings of a gas-sensor array and the concentration of one gas (Section 3.7).

    Every example is one sample of air holding ``num_gases`` gases, with concentrations
    drawn from N(0, 1) (deviations from their usual levels, in units of their
    spread). Each of the ``num_sensors`` sensors responds to every gas, with
    sensitivities drawn once from U(0, 1) (``self.sensitivity``, one row per sensor),
    and adds noise of standard deviation ``noise``. The label is the concentration of
    gas 0 as a reference instrument measures it, with error ``label_noise``.
    ``self.gases`` keeps the true concentrations. The first ``num_train`` examples
    train in minibatches; the other ``num_val`` validate, in one batch.
    """

    def __init__(
        self,
        num_train: int = 20,
        num_val: int = 1000,
        num_sensors: int = 30,
        num_gases: int = 5,
        noise: float = 1.0,
        label_noise: float = 0.3,
        batch_size: int = 5,
    ):
        super().__init__()
        self.save_hyperparameters()
        if min(num_sensors, num_gases) < 1 or not label_noise >= 0:
            raise ValueError(
                "SensorArrayData needs at least one sensor and one gas and "
                f"label_noise >= 0, got num_sensors={num_sensors}, "
                f"num_gases={num_gases}, label_noise={label_noise}."
            )
        n = num_train + num_val
        self.sensitivity = torch.rand(num_sensors, num_gases)
        self.gases = torch.randn(n, num_gases)
        readings = self.gases @ self.sensitivity.T
        self.X = readings + noise * torch.randn(n, num_sensors)
        self.y = self.gases[:, :1] + label_noise * torch.randn(n, 1)

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Minibatches of the training examples, or all validation examples in one batch."""
        n = self.num_train
        if train:
            return self.get_tensorloader([self.X, self.y], train, slice(0, n))
        return TensorLoader([self.X[n:], self.y[n:]], max(self.num_val, 1))


# ---------------------------------------------------------- Section 5.5


def check_subset(
    data, num_train: int, num_val: int, label_noise: float, pool: int
) -> None:
    """Refuse a subset that ``data`` cannot provide, or impossible settings (Section 5.5)."""
    # The number of examples in data.train and data.val (FashionMNIST's TensorDatasets).
    have = {split: len(getattr(data, split, ())) for split in ("train", "val")}
    if not have["train"]:
        raise TypeError(
            "data must be a data module with .train and .val datasets, such as "
            "d2l.FashionMNIST()."
        )
    for split, wanted in (("train", num_train), ("val", num_val)):
        if wanted > have[split]:
            raise ValueError(
                f"num_{split}={wanted} is more than the {have[split]:,} examples of "
                f"data.{split}."
            )
    if not 0 <= label_noise <= 1:
        raise ValueError(f"label_noise must be a probability, got {label_noise!r}.")
    if not (isinstance(pool, int) and 1 <= pool <= 28):
        raise ValueError(f"pool must be a whole number from 1 to 28, got {pool!r}.")


class SmallFashionMNIST(DataModule):
    """A small, standardised and optionally noisy part of Fashion-MNIST (Section 5.5).

    The first ``num_train`` training and ``num_val`` validation images of ``data`` (a
    ``FashionMNIST``), average-pooled ``pool`` x ``pool`` (2: 14 x 14 pixels) and
    standardised with the mean and standard deviation of the training images' pixels.
    Each training label is replaced, with probability ``label_noise``, by a class drawn
    uniformly at random (``seed`` fixes which); ``noisy`` marks the labels that changed.
    Validation labels are never changed.
    """

    def __init__(
        self,
        data: FashionMNIST,
        num_train: int = 1000,
        num_val: int = 1000,
        label_noise: float = 0.0,
        pool: int = 2,
        batch_size: int = 50,
        seed: int = 0,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["data"])
        check_subset(data, num_train, num_val, label_noise, pool)
        X, y = (t[:num_train] for t in data.train.tensors)
        X_val, y_val = (t[:num_val] for t in data.val.tensors)
        X, X_val = F.avg_pool2d(X, pool), F.avg_pool2d(X_val, pool)
        mean, std = X.mean(), X.std()
        generator = torch.Generator().manual_seed(seed)
        replace = torch.rand(num_train, generator=generator) < label_noise
        random_labels = torch.randint(0, 10, (num_train,), generator=generator)
        labels = torch.where(replace, random_labels, y)
        self.noisy = labels != y
        self.train = TensorDataset((X - mean) / std, labels)
        self.val = TensorDataset((X_val - mean) / std, y_val)

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Training batches of ``batch_size``, shuffled; validation in batches of 1,000 (Section 5.5).

        Scoring needs no small batches, and large ones are faster.
        """
        tensors = (self.train if train else self.val).tensors
        return TensorLoader(tensors, self.batch_size if train else 1000, shuffle=train)


__all__ += ["check_subset", "SmallFashionMNIST"]
