"""Section 5.5's SmallFashionMNIST and its check, on a stand-in for FashionMNIST.

The stand-in has FashionMNIST's shape (``.train`` and ``.val`` TensorDatasets of images
(N, 1, 28, 28) in [0, 1] and labels 0 to 9), so every expected value can be computed here.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

import d2lutil as d2l


def stand_in(num_train=600, num_val=300, seed=0):
    generator = torch.Generator().manual_seed(seed)
    make = lambda n: TensorDataset(  # noqa: E731
        torch.rand(n, 1, 28, 28, generator=generator),
        torch.randint(0, 10, (n,), generator=generator),
    )
    return SimpleNamespace(train=make(num_train), val=make(num_val))


def test_images_are_pooled_and_standardised_with_the_training_statistics():
    data = stand_in()
    small = d2l.SmallFashionMNIST(data, num_train=500, num_val=200, pool=2)
    X, _ = small.train.tensors
    X_val, _ = small.val.tensors
    assert X.shape == (500, 1, 14, 14)
    assert X_val.shape == (200, 1, 14, 14)
    pooled = F.avg_pool2d(data.train.tensors[0][:500], 2)
    mean, std = pooled.mean(), pooled.std()
    torch.testing.assert_close(X, (pooled - mean) / std)
    pooled_val = F.avg_pool2d(data.val.tensors[0][:200], 2)
    torch.testing.assert_close(X_val, (pooled_val - mean) / std)  # training statistics
    assert abs(float(X.mean())) < 1e-5
    assert float(X.std()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(("pool", "side"), [(1, 28), (4, 7), (3, 9)])
def test_pool_sets_the_resolution(pool, side):
    small = d2l.SmallFashionMNIST(stand_in(), num_train=50, num_val=20, pool=pool)
    assert small.train.tensors[0].shape == (50, 1, side, side)


def test_without_noise_the_labels_are_the_first_ones():
    data = stand_in()
    small = d2l.SmallFashionMNIST(data, num_train=400, num_val=100)
    assert torch.equal(small.train.tensors[1], data.train.tensors[1][:400])
    assert torch.equal(small.val.tensors[1], data.val.tensors[1][:100])
    assert not small.noisy.any()


@pytest.mark.parametrize("noise", [0.3, 0.5, 1.0])
def test_label_noise_replaces_labels_by_random_classes(noise):
    data = stand_in(num_train=600)
    small = d2l.SmallFashionMNIST(data, num_train=600, num_val=100, label_noise=noise)
    labels, true = small.train.tensors[1], data.train.tensors[1][:600]
    assert torch.equal(small.noisy, labels != true)
    assert labels.min() >= 0
    assert labels.max() <= 9
    # a label is wrong with probability 0.9 * noise; 5 binomial standard deviations
    p = 0.9 * noise
    share = float(small.noisy.float().mean())
    assert abs(share - p) < 5 * math.sqrt(p * (1 - p) / 600) + 1e-9
    assert torch.equal(small.val.tensors[1], data.val.tensors[1][:100])  # never changed


def test_the_seed_fixes_which_labels_change():
    data = stand_in()
    a = d2l.SmallFashionMNIST(data, num_train=500, num_val=10, label_noise=0.5, seed=3)
    b = d2l.SmallFashionMNIST(data, num_train=500, num_val=10, label_noise=0.5, seed=3)
    c = d2l.SmallFashionMNIST(data, num_train=500, num_val=10, label_noise=0.5, seed=4)
    assert torch.equal(a.train.tensors[1], b.train.tensors[1])
    assert not torch.equal(a.train.tensors[1], c.train.tensors[1])


def test_random_labels_carry_no_information():
    data = stand_in(num_train=600)
    small = d2l.SmallFashionMNIST(data, num_train=600, num_val=10, label_noise=1.0)
    counts = torch.bincount(small.train.tensors[1], minlength=10).double()
    # uniform over the 10 classes: a chi-square test at a very small significance level
    chi2 = float(((counts - 60) ** 2 / 60).sum())
    assert chi2 < 40  # P(chi2 with 9 degrees of freedom > 40) is about 1e-5


def test_loaders_shuffle_training_batches_and_score_validation_in_large_batches():
    d2l.seed(0)
    small = d2l.SmallFashionMNIST(stand_in(), num_train=500, num_val=250, batch_size=64)
    train = small.train_dataloader()
    assert len(train) == 8
    assert train.shuffle
    assert [len(y) for _, y in train][-1] == 500 - 7 * 64
    val = small.val_dataloader()
    assert len(val) == 1
    assert not val.shuffle
    X, y = next(iter(val))
    assert torch.equal(X, small.val.tensors[0])
    assert torch.equal(y, small.val.tensors[1])
    assert "num_train=500" in repr(small)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"num_train": 601},
            ValueError,
            r"num_train=601 is more than the 600 examples",
        ),
        ({"num_val": 301}, ValueError, r"num_val=301 is more than the 300 examples"),
        ({"label_noise": 1.5}, ValueError, "label_noise must be a probability"),
        ({"label_noise": -0.1}, ValueError, "label_noise must be a probability"),
        ({"pool": 0}, ValueError, "pool must be a whole number from 1 to 28"),
        ({"pool": 2.0}, ValueError, "pool must be a whole number"),
        ({"num_train": 0}, ValueError, "num_train must be positive"),
        ({"batch_size": 0}, ValueError, "batch_size must be positive"),
    ],
)
def test_impossible_settings_are_refused(kwargs, error, match):
    settings = {"num_train": 100, "num_val": 50} | kwargs
    with pytest.raises(error, match=match):
        d2l.SmallFashionMNIST(stand_in(), **settings)


def test_data_without_splits_is_refused():
    with pytest.raises(TypeError, match="data module with .train and .val"):
        d2l.SmallFashionMNIST(object(), num_train=10, num_val=10)


def test_a_model_trains_on_it():
    d2l.seed(0)
    data = stand_in()
    for split in ("train", "val"):  # a bright row of pixels tells the class
        X, y = getattr(data, split).tensors
        X[torch.arange(len(X)), 0, 2 * y] += 2.0
    small = d2l.SmallFashionMNIST(data, num_train=500, num_val=300, batch_size=50)
    model = d2l.MLP(num_outputs=10, num_hiddens=64, lr=0.1)
    model.board = d2l.ProgressBoard(display=False)
    d2l.Trainer(max_epochs=5).fit(model, small)
    assert d2l.evaluate(model, small.val_dataloader(), "accuracy") > 0.9
