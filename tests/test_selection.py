"""d2lutil.k_fold_indices (Section 3.6): the folds of K-fold cross-validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import d2lutil as d2l


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=200),
    data=st.data(),
    seed=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32)),
)
def test_every_example_validates_exactly_once_and_trains_k_minus_1_times(n, data, seed):
    k = data.draw(st.integers(min_value=2, max_value=n))
    folds = d2l.k_fold_indices(n, k, seed=seed)
    assert len(folds) == k
    val_counts = torch.zeros(n, dtype=torch.long)
    train_counts = torch.zeros(n, dtype=torch.long)
    for train, val in folds:
        assert train.dtype == val.dtype == torch.int64
        # the two parts of a fold are disjoint and together hold every example once
        assert sorted(torch.cat([train, val]).tolist()) == list(range(n))
        # increasing order, no repeats
        assert bool((val[1:] > val[:-1]).all())
        assert bool((train[1:] > train[:-1]).all())
        val_counts[val] += 1
        train_counts[train] += 1
    assert bool((val_counts == 1).all())
    assert bool((train_counts == k - 1).all())
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # the larger folds come first


def test_fold_sizes_of_an_uneven_split():
    folds = d2l.k_fold_indices(10, 3)
    assert [len(val) for _, val in folds] == [4, 3, 3]
    assert [len(train) for train, _ in folds] == [6, 7, 7]


def test_without_a_seed_the_folds_are_consecutive_blocks():
    folds = d2l.k_fold_indices(7, 3, seed=None)
    assert [val.tolist() for _, val in folds] == [[0, 1, 2], [3, 4], [5, 6]]
    assert folds[1][0].tolist() == [0, 1, 2, 5, 6]


def test_the_seed_decides_the_folds_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first = d2l.k_fold_indices(50, 5, seed=7)
    after = torch.rand(3)
    assert torch.equal(before, after)  # no draw from torch's global generator
    again = d2l.k_fold_indices(50, 5, seed=7)
    other = d2l.k_fold_indices(50, 5, seed=8)
    same = all(torch.equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert same
    assert any(not torch.equal(a[1], b[1]) for a, b in zip(first, other, strict=True))
    # a seeded split is shuffled: the first fold is not the block 0..9
    assert first[0][1].tolist() != list(range(10))


def test_leave_one_out():
    folds = d2l.k_fold_indices(4, 4, seed=None)
    assert [val.tolist() for _, val in folds] == [[0], [1], [2], [3]]
    assert [train.tolist() for train, _ in folds][2] == [0, 1, 3]


def test_the_indices_select_rows_of_a_data_set():
    X = torch.arange(12.0).reshape(6, 2)
    (train, val), *_ = d2l.k_fold_indices(6, 3, seed=None)
    assert torch.equal(X[val], torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    assert X[train].shape == (4, 2)


def test_numpy_integers_are_accepted():
    folds = d2l.k_fold_indices(np.int64(9), np.int32(3))
    assert [len(val) for _, val in folds] == [3, 3, 3]


@pytest.mark.parametrize(
    ("n", "k"), [(10, 1), (10, 0), (10, 11), (1, 2), (5, -2), (0, 2)]
)
def test_impossible_k_is_refused_with_a_clear_message(n, k):
    with pytest.raises(ValueError, match=r"k must be from 2 to num_examples"):
        d2l.k_fold_indices(n, k)


@pytest.mark.parametrize(("n", "k"), [(10.0, 2), (10, 2.5), ("10", 2)])
def test_non_integers_are_refused(n, k):
    with pytest.raises(TypeError, match="integer"):
        d2l.k_fold_indices(n, k)
