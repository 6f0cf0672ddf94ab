"""d2lutil.evaluation: error bars of test accuracies (Section 4.6), checked against exact
quantiles of the normal distribution, closed forms and simulated test sets."""

from __future__ import annotations

import math

import pytest
import torch

import d2lutil as d2l

# Two-sided quantiles z with P(|Z| <= z) = confidence for a standard normal Z, to 12 digits
# (tables of the normal distribution; independent of statistics.NormalDist).
KNOWN_Z = {0.90: 1.644853626951, 0.95: 1.959963984540, 0.99: 2.575829303549}


@pytest.mark.parametrize("confidence", sorted(KNOWN_Z))
def test_error_bar_uses_the_normal_quantile(confidence):
    z = KNOWN_Z[confidence]
    for accuracy, n in [(0.5, 100), (0.85, 10_000), (0.99, 250)]:
        expected = z * math.sqrt(accuracy * (1 - accuracy) / n)
        assert d2l.accuracy_error_bar(accuracy, n, confidence) == pytest.approx(
            expected, rel=1e-11
        )


def test_one_sigma_and_the_erf_relation():
    # P(|Z| <= z) = erf(z / sqrt(2)): the confidence of a one-sigma bar is erf(1/sqrt 2),
    # and for any confidence the bar's z satisfies erf(z / sqrt 2) = confidence.
    one_sigma = math.erf(1 / math.sqrt(2))
    assert d2l.accuracy_error_bar(0.8, 400, one_sigma) == pytest.approx(0.02, rel=1e-9)
    for confidence in (0.5, 0.8, 0.95, 0.999):
        z = d2l.accuracy_error_bar(0.5, 1, confidence) / 0.5
        assert math.erf(z / math.sqrt(2)) == pytest.approx(confidence, rel=1e-12)


def test_error_bar_shape():
    bar = d2l.accuracy_error_bar
    assert bar(0.0, 50) == bar(1.0, 50) == 0.0
    assert bar(0.3, 1000) == pytest.approx(bar(0.7, 1000), rel=1e-15)
    assert bar(0.5, 1000) > bar(0.6, 1000) > bar(0.9, 1000)  # widest at 0.5
    assert bar(0.8, 400) == pytest.approx(2 * bar(0.8, 1600), rel=1e-12)  # 1/sqrt(n)
    assert bar(0.8, 400, 0.99) > bar(0.8, 400, 0.95) > bar(0.8, 400, 0.9)


def test_error_bar_accepts_tensors_and_returns_a_float():
    accuracy = torch.tensor(0.75)
    result = d2l.accuracy_error_bar(accuracy, torch.tensor(300))
    assert isinstance(result, float)
    assert result == pytest.approx(d2l.accuracy_error_bar(0.75, 300), rel=1e-6)


def coverage(true_accuracy, n, half_width, num_sets=40_000, seed=0):
    """Fraction of simulated test sets whose interval covers the true accuracy."""
    generator = torch.Generator().manual_seed(seed)
    probs = torch.full((num_sets,), true_accuracy, dtype=torch.float64)
    measured = (
        torch.binomial(n * torch.ones_like(probs), probs, generator=generator) / n
    )
    widths = torch.tensor(
        [half_width(a) for a in measured.tolist()], dtype=torch.float64
    )
    return ((measured - true_accuracy).abs() <= widths).double().mean().item()


@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_normal_interval_covers_as_promised_for_large_n(confidence):
    # Binomial test sets of n = 2000 at accuracy 0.8: the coverage is the confidence
    # up to the simulation's own error (about 0.0015 for 40,000 sets).
    got = coverage(0.8, 2000, lambda a: d2l.accuracy_error_bar(a, 2000, confidence))
    assert got == pytest.approx(confidence, abs=0.006)


def test_normal_interval_undercovers_for_small_n_near_one():
    # With n = 30 and true accuracy 0.97, 40% of test sets have no mistake at all and
    # an error bar of zero: the approximation breaks down, as Section 4.6 says.
    got = coverage(0.97, 30, lambda a: d2l.accuracy_error_bar(a, 30))
    assert got < 0.9


def test_hoeffding_closed_form_and_union_bound():
    assert d2l.hoeffding_error_bar(10_000) == pytest.approx(
        math.sqrt(math.log(40) / 20_000), rel=1e-14
    )
    # k models at confidence c: one model at confidence 1 - (1 - c) / k.
    for k in (1, 10, 1000):
        assert d2l.hoeffding_error_bar(500, 0.95, k) == pytest.approx(
            d2l.hoeffding_error_bar(500, 1 - 0.05 / k), rel=1e-12
        )
    assert d2l.hoeffding_error_bar(500, 0.95, 100) > d2l.hoeffding_error_bar(500)


def test_hoeffding_takes_every_valid_argument_and_refuses_the_rest():
    # The smallest valid arguments: one test example, one model.
    assert d2l.hoeffding_error_bar(1, 0.5) == pytest.approx(
        math.sqrt(math.log(4) / 2), rel=1e-14
    )
    for bad in ({"n": 0}, {"confidence": 1}, {"confidence": 1.5}, {"confidence": 0}):
        with pytest.raises(ValueError, match="0 < confidence < 1"):
            d2l.hoeffding_error_bar(**{"n": 100, **bad})
    with pytest.raises(ValueError, match="num_models >= 1"):
        d2l.hoeffding_error_bar(100, 0.95, 0)


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_hoeffding_is_wider_than_the_normal_bar_and_holds(n):
    for accuracy in (0.5, 0.8, 0.99):
        assert d2l.hoeffding_error_bar(n) > d2l.accuracy_error_bar(accuracy, n)
    # The guarantee: deviations beyond the bar are rarer than 1 - confidence.
    bar = d2l.hoeffding_error_bar(n)
    got = coverage(0.7, n, lambda a: bar, num_sets=20_000, seed=n)
    assert got >= 0.95


def test_hoeffding_for_many_models_at_once():
    # 200 fixed "models" (coins of different biases) on one test set of 300 examples:
    # the largest deviation among them stays within the union-bound bar in at least
    # 95% of simulated test sets.
    generator = torch.Generator().manual_seed(1)
    k, n, trials = 200, 300, 2000
    p = torch.linspace(0.05, 0.95, k, dtype=torch.float64)
    counts = torch.binomial(
        torch.full((trials, k), float(n), dtype=torch.float64),
        p.expand(trials, k),
        generator=generator,
    )
    worst = (counts / n - p).abs().amax(dim=1)
    bar = d2l.hoeffding_error_bar(n, 0.95, num_models=k)
    assert (worst <= bar).double().mean() >= 0.95
    # ... while the worst of them exceeds the one-model bar far more often than the 5%
    # that bar allows a single model.
    assert (worst > d2l.hoeffding_error_bar(n)).double().mean() > 0.2


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ((85, 100), "not a percentage"),
        ((-0.1, 100), "accuracy=-0.1"),
        ((float("nan"), 100), "accuracy=nan"),
        ((0.8, 0), "n=0"),
        ((0.8, 100, 95), "confidence=95"),
        ((0.8, 100, 1.0), "confidence=1.0"),
    ],
)
def test_error_bar_refuses_impossible_input(args, word):
    with pytest.raises(ValueError, match="accuracy_error_bar needs") as info:
        d2l.accuracy_error_bar(*args)
    assert word in str(info.value)


@pytest.mark.parametrize(
    ("args", "word"),
    [((0,), "n=0"), ((100, 0.0), "confidence=0.0"), ((100, 0.95, 0), "num_models=0")],
)
def test_hoeffding_refuses_impossible_input(args, word):
    with pytest.raises(ValueError, match="hoeffding_error_bar needs") as info:
        d2l.hoeffding_error_bar(*args)
    assert word in str(info.value)


def test_exported_at_the_top_level():
    for name in ("accuracy_error_bar", "hoeffding_error_bar"):
        assert name in d2l.__all__
        assert getattr(d2l, name) is getattr(d2l.evaluation, name)
