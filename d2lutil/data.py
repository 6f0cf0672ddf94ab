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
