"""Data: data modules and a fast in-memory loader.

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
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from ._datasets import DATA_URL, data_dir, download, extract, fashion_mnist_array
from .base import HyperParameters, check_hparams, check_memory, check_w_b
from .plotting import show_images

__all__ = [
    "data_dir", "DataModule", "TensorLoader", "SyntheticRegressionData",
    "FashionMNIST", "load_fashion_mnist", "download", "extract", "DATA_URL"
]  # fmt: skip
__all__ += ["k_fold_indices", "SensorArrayData"]


class TensorLoader:
    """Iterate over tensors in minibatches, shuffled afresh every epoch (Section 3.3).

    ``tensors`` share their first dimension (the examples). With
    ``shuffle=True`` each pass uses a new permutation from the loader's own
    ``torch.Generator``, seeded by ``seed`` (by default drawn from torch's
    global generator, so ``d2l.seed(0)`` makes every run repeat). The last
    batch holds the remaining examples and may be smaller.
    """

    def __init__(self, tensors, batch_size, shuffle=False, seed=None):
        self.tensors = tuple(tensors)
        _check_loader_args(self.tensors, batch_size)
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
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        if order is not None:  # indices on the data's device: no copy per batch
            order = order.to(self.tensors[0].device)
        for start in range(0, n, self.batch_size):
            if order is None:  # slices: views, no copy
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
            else:
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

    def get_tensorloader(self, tensors, train, indices=slice(0, None)) -> TensorLoader:
        """Return a loader over the rows ``indices`` of ``tensors``, shuffled if ``train`` (Section 3.3)."""
        selected = [tensor[indices] for tensor in tensors]
        return TensorLoader(selected, self.batch_size, shuffle=train)


class SyntheticRegressionData(DataModule):
    """Synthetic data for linear regression: y = Xw + b + noise (Section 3.3)."""

    def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32):
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

    def __init__(self, batch_size: int = 64, resize=(28, 28), root=None):
        super().__init__(root=root)
        self.save_hyperparameters()
        check_memory(70_000, resize)  # both splits, before loading either
        self.train = TensorDataset(
            *load_fashion_mnist(train=True, resize=resize, root=root)
        )
        self.val = TensorDataset(
            *load_fashion_mnist(train=False, resize=resize, root=root)
        )

    def text_labels(self, indices) -> list[str]:
        """Return the names of the classes with numbers ``indices`` (Section 4.2).

        ``indices`` may be a tensor (on any device), a list or a range.
        """
        names = ("t-shirt", "trouser", "pullover", "dress", "coat",
                 "sandal", "shirt", "sneaker", "bag", "ankle boot")  # fmt: skip
        numbers = torch.as_tensor(indices).tolist()  # plain Python ints
        return [names[k] for k in numbers]

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Return the training loader (shuffled) or the validation loader (Section 4.2)."""
        tensors = (self.train if train else self.val).tensors
        return self.get_tensorloader(tensors, train)

    def visualize(self, batch, nrows: int = 1, ncols: int = 8, labels=None) -> None:
        """Show the images of ``batch`` with their class names as titles (Section 4.2).

        ``labels``, if given, replaces the class names as titles.
        """
        images, classes = batch
        titles = labels or self.text_labels(classes)
        show_images(images.squeeze(1), nrows, ncols, titles=titles)


def load_fashion_mnist(
    train=True, resize=(28, 28), root=None
) -> tuple[torch.Tensor, ...]:
    """Fashion-MNIST as tensors: images (N, 1, H, W) float32 in [0, 1], labels (N,) int64.

    ``train=True`` gives the 60,000 training examples, ``False`` the 10,000
    test examples. Files come from ``root``, the data directory, Debian's copy
    or a verified download, in that order.
    """
    size = check_memory(60_000 if train else 10_000, resize)
    split = "train" if train else "t10k"
    images = fashion_mnist_array(f"{split}-images-idx3-ubyte", root)
    labels = fashion_mnist_array(f"{split}-labels-idx1-ubyte", root)
    X = torch.empty(len(images), 1, *size)  # filled in place, a chunk at a time
    for i in range(0, len(images), 4096):
        part = torch.tensor(images[i : i + 4096]).unsqueeze(1).float().div_(255)
        if size != tuple(part.shape[-2:]):  # bilinear, antialiased
            part = F.interpolate(part, size=size, mode="bilinear", antialias=True)
            part.clamp_(0, 1)
        X[i : i + 4096] = part
    return X, torch.from_numpy(labels.astype("int64"))


# ---------------------------------------------------------------- helpers


def _check_loader_args(tensors: tuple[torch.Tensor, ...], batch_size: int) -> None:
    check_hparams("TensorLoader", {"batch_size": batch_size})
    if not tensors or not all(torch.is_tensor(t) and t.ndim > 0 for t in tensors):
        raise TypeError(
            "TensorLoader needs one or more tensors of at least one dimension."
        )
    if len({len(t) for t in tensors}) != 1:
        raise ValueError(
            "the tensors must have the same number of examples (first dimension), "
            f"got {[len(t) for t in tensors]}."
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
        self, num_train: int = 20, num_val: int = 1000, num_sensors: int = 30,
        num_gases: int = 5, noise: float = 1.0, label_noise: float = 0.3,
        batch_size: int = 5,
    ):  # fmt: skip
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
