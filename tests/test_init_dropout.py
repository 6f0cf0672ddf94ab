"""Sections 5.4 and 5.6's additions to d2lutil.models: initialisation helpers and dropout.

Values are checked against PyTorch's own routines (``nn.init``, ``nn.Dropout``), exact
arithmetic where it is exact, and binomial bounds where a mask is random.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import d2lutil as d2l

# ------------------------------------------------------------- initialisation


@pytest.mark.parametrize(("fan_in", "fan_out"), [(784, 256), (256, 10), (1, 1)])
def test_the_standard_deviations_are_the_formulas(fan_in, fan_out):
    assert d2l.xavier_std(fan_in, fan_out) == pytest.approx(
        math.sqrt(2 / (fan_in + fan_out)), rel=1e-15
    )
    assert d2l.he_std(fan_in) == pytest.approx(math.sqrt(2 / fan_in), rel=1e-15)


def test_the_standard_deviations_refuse_empty_layers():
    with pytest.raises(ValueError, match="must be positive, got 0, 5"):
        d2l.xavier_std(0, 5)
    with pytest.raises(ValueError, match="fan_in must be positive"):
        d2l.he_std(0)


@pytest.mark.parametrize(("fan_in", "fan_out"), [(300, 50), (20, 700)])
def test_init_xavier_draws_what_torch_xavier_normal_draws(fan_in, fan_out):
    ours, theirs = nn.Linear(fan_in, fan_out), nn.Linear(fan_in, fan_out)
    torch.manual_seed(3)
    d2l.init_xavier(ours)
    torch.manual_seed(3)
    nn.init.xavier_normal_(theirs.weight)
    assert torch.equal(ours.weight, theirs.weight)
    assert torch.equal(ours.bias, torch.zeros(fan_out))


@pytest.mark.parametrize(("fan_in", "fan_out"), [(300, 50), (20, 700)])
def test_init_he_draws_what_torch_kaiming_normal_draws(fan_in, fan_out):
    ours, theirs = nn.Linear(fan_in, fan_out), nn.Linear(fan_in, fan_out)
    torch.manual_seed(4)
    d2l.init_he(ours)
    torch.manual_seed(4)
    nn.init.kaiming_normal_(theirs.weight, mode="fan_in", nonlinearity="relu")
    assert torch.equal(ours.weight, theirs.weight)
    assert torch.equal(ours.bias, torch.zeros(fan_out))


def test_the_drawn_weights_have_the_formula_standard_deviation():
    torch.manual_seed(0)
    layer = nn.Linear(500, 800).requires_grad_(False)
    d2l.init_xavier(layer)
    # 400,000 draws: the sample standard deviation is within 0.5 % with near certainty
    assert float(layer.weight.std()) == pytest.approx(
        d2l.xavier_std(500, 800), rel=5e-3
    )
    d2l.init_he(layer)
    assert float(layer.weight.std()) == pytest.approx(d2l.he_std(500), rel=5e-3)
    assert abs(float(layer.weight.mean())) < 5e-4


def test_the_helpers_initialise_every_linear_layer_of_a_model_and_nothing_else():
    d2l.seed(0)
    model = d2l.DropoutMLP(10, 64, 32, 0.5, 0.5, lr=0.1)
    model.apply_init([torch.zeros(2, 1, 28, 28)], d2l.init_he)
    for name, fan_in in (("hidden_1", 784), ("hidden_2", 64), ("output", 32)):
        layer = getattr(model.net, name)
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))
        std = float(layer.weight.detach().std())
        assert std == pytest.approx(d2l.he_std(fan_in), rel=0.15)
    no_bias = nn.Linear(3, 4, bias=False)
    d2l.init_xavier(no_bias)  # no bias to zero: no error
    relu = nn.ReLU()
    d2l.init_xavier(relu)
    d2l.init_he(relu)  # other modules are left alone


def test_he_keeps_the_mean_square_of_relu_activations_through_a_deep_stack():
    # The two steps of Section 5.4's derivation, at every layer of a deep ReLU stack: a linear
    # layer multiplies the mean square by fan_in * std^2 (= 2 for He), ReLU halves it.
    torch.manual_seed(0)
    width, depth = 512, 20
    H = torch.randn(1000, width, dtype=torch.float64)
    layers = [nn.Linear(width, width).double() for _ in range(depth)]
    for layer in layers:
        d2l.init_he(layer)
    linear_steps, relu_steps, squares = [], [], []
    with torch.no_grad():
        for layer in layers:
            Z = layer(H)
            linear_steps.append(float((Z**2).mean() / (H**2).mean()))
            H = torch.relu(Z)
            relu_steps.append(float((H**2).mean() / (Z**2).mean()))
            squares.append(float((Z**2).mean()))
    # One layer's factor is random (its weights are): a few per cent, more in deep layers,
    # whose units are correlated across examples. Over 20 layers the mean is close.
    assert linear_steps == pytest.approx([2.0] * depth, rel=0.3)
    assert math.exp(sum(map(math.log, linear_steps)) / depth) == pytest.approx(
        2.0, rel=0.05
    )
    assert relu_steps == pytest.approx([0.5] * depth, rel=0.25)
    assert math.exp(sum(map(math.log, relu_steps)) / depth) == pytest.approx(
        0.5, rel=0.05
    )
    # the product of 20 such random factors stays within a factor 2 of the prediction 2
    assert 1.0 < squares[-1] < 4.0


# -------------------------------------------------------------------- dropout


def test_dropout_layer_keeps_or_scales_every_entry():
    torch.manual_seed(0)
    X = torch.rand(200, 300) + 0.5  # no zeros, so a zero means "dropped"
    for p in (0.1, 0.5, 0.8):
        Y = d2l.dropout_layer(X, p)
        kept = Y != 0
        # each entry is 0 or X / (1 - p), computed as X * 1 / (1 - p)
        assert torch.equal(Y[kept], X[kept] / (1 - p))
        share = float(kept.double().mean())
        # 60,000 Bernoulli(1 - p) draws: 5 standard deviations is a safe bound
        assert abs(share - (1 - p)) < 5 * math.sqrt(p * (1 - p) / X.numel())


def test_dropout_layer_keeps_the_expected_value():
    torch.manual_seed(1)
    X = torch.linspace(-2.0, 3.0, 50, dtype=torch.float64)
    draws = torch.stack([d2l.dropout_layer(X, 0.3) for _ in range(20_000)])
    mean, var = draws.mean(dim=0), draws.var(dim=0)
    # mean X, variance X^2 p / (1 - p); bound the error of the means by 5 standard errors
    stderr = (X**2 * 0.3 / 0.7 / 20_000).sqrt()
    assert torch.all((mean - X).abs() <= 5 * stderr + 1e-12)
    torch.testing.assert_close(var, X**2 * 0.3 / 0.7, rtol=0.06, atol=1e-12)


def test_dropout_layer_at_the_ends_and_its_dtype():
    X = torch.randn(4, 5, dtype=torch.float64)
    assert torch.equal(d2l.dropout_layer(X, 0), X)
    assert torch.equal(d2l.dropout_layer(X, 0.0), X)
    assert torch.equal(d2l.dropout_layer(X, 1), torch.zeros_like(X))
    assert d2l.dropout_layer(X, 0.5).dtype == torch.float64


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_dropout_layer_refuses_what_is_not_a_probability(bad):
    with pytest.raises(
        ValueError, match="dropout must be a probability between 0 and 1"
    ):
        d2l.dropout_layer(torch.ones(3), bad)


def test_dropout_layer_gradient_is_the_scaled_mask():
    torch.manual_seed(2)
    X = torch.randn(6, 7, requires_grad=True)
    Y = d2l.dropout_layer(X, 0.25)
    Y.sum().backward()
    expected = (Y != 0).float() / 0.75
    torch.testing.assert_close(X.grad, expected)


def test_dropout_layer_draws_its_mask_on_the_device_of_x():
    X = torch.ones(3, 4, device="meta")  # a mask made on the CPU could not mix with it
    assert d2l.dropout_layer(X, 0.5).device.type == "meta"
    if torch.cuda.is_available():
        assert d2l.dropout_layer(X.to("cuda"), 0.5).device.type == "cuda"


def test_dropout_layer_matches_nn_dropout_in_distribution():
    torch.manual_seed(0)
    X = torch.ones(400, 500)
    ours, theirs = d2l.dropout_layer(X, 0.4), nn.Dropout(0.4)(X)
    scale = float(torch.tensor(1.0) / 0.6)  # 1 / 0.6 in float32
    assert set(ours.unique().tolist()) == set(theirs.unique().tolist()) == {0.0, scale}
    assert float(ours.mean()) == pytest.approx(float(theirs.mean()), abs=0.02)


# ------------------------------------------------------------- dropout models


def both_models(dropout_1=0.5, dropout_2=0.5, seed=0):
    """A scratch and a concise dropout MLP with the same weights."""
    d2l.seed(seed)
    scratch = d2l.DropoutMLPScratch(10, 32, 16, dropout_1, dropout_2, lr=0.1)
    concise = d2l.DropoutMLP(10, 32, 16, dropout_1, dropout_2, lr=0.1)
    X = torch.rand(5, 1, 28, 28)
    scratch.apply_init([X])
    concise.apply_init([X])
    with torch.no_grad():
        for name in ("hidden_1", "hidden_2", "output"):
            getattr(concise.net, name).load_state_dict(
                getattr(scratch, name).state_dict()
            )
    return scratch, concise, X


def test_the_models_save_their_hyperparameters():
    scratch, concise, _ = both_models(0.2, 0.3)
    for model in (scratch, concise):
        assert model.hparams == {
            "num_outputs": 10,
            "num_hiddens_1": 32,
            "num_hiddens_2": 16,
            "dropout_1": 0.2,
            "dropout_2": 0.3,
            "lr": 0.1,
        }
    assert concise.net.dropout_1.p == 0.2
    assert concise.net.dropout_2.p == 0.3
    assert scratch.hidden_1.weight.shape == (32, 784)


def test_in_eval_mode_both_models_are_the_plain_mlp():
    scratch, concise, X = both_models()
    scratch.eval()
    concise.eval()
    with torch.no_grad():
        H1 = torch.relu(scratch.hidden_1(X.reshape(5, -1)))
        plain = scratch.output(torch.relu(scratch.hidden_2(H1)))
        torch.testing.assert_close(scratch(X), plain)
        torch.testing.assert_close(concise(X), plain)
        assert torch.equal(scratch(X), scratch(X))


def test_in_training_mode_the_outputs_are_random():
    scratch, concise, X = both_models()
    for model in (scratch, concise):
        model.train()
        with torch.no_grad():
            assert not torch.equal(model(X), model(X))


def test_without_dropout_training_mode_changes_nothing():
    scratch, concise, X = both_models(0.0, 0.0)
    with torch.no_grad():
        scratch.train()
        train_out = scratch(X)
        scratch.eval()
        torch.testing.assert_close(train_out, scratch(X))
        concise.train()
        torch.testing.assert_close(concise(X), train_out)


def test_scratch_dropout_acts_after_each_hidden_layer():
    scratch, _, X = both_models(1.0, 0.0)  # the first hidden layer is dropped entirely
    scratch.train()
    with torch.no_grad():
        H2 = torch.relu(scratch.hidden_2.bias).expand(5, 16)  # hidden_2 of a zero input
        torch.testing.assert_close(scratch(X), scratch.output(H2))
    scratch, _, X = both_models(0.0, 1.0)  # only the output layer's bias gets through
    scratch.train()
    with torch.no_grad():
        torch.testing.assert_close(scratch(X), scratch.output.bias.expand(5, 10))


def test_training_mode_keeps_the_expected_hidden_units():
    # Averaged over many masks, the output layer sees the eval-mode hidden units of layer 2
    # in expectation only if dropout_2 is the last random step: check it with dropout_1 = 0.
    scratch, _, X = both_models(0.0, 0.5)
    torch.manual_seed(0)
    with torch.no_grad():
        scratch.eval()
        expected = scratch(X)
        scratch.train()
        mean = torch.stack([scratch(X) for _ in range(4000)]).mean(dim=0)
    torch.testing.assert_close(mean, expected, atol=0.02, rtol=0)
