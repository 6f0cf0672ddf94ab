"""Weight decay (Section 3.7): l2_penalty, WeightDecayScratch, WeightDecay, SensorArrayData.

Gradients are checked against autograd, one optimizer step against the shrink-then-step
formula, training against the closed-form ridge solution, and the concise model against
the scratch one.
"""

from __future__ import annotations

import math

import pytest
import torch

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


def ridge(X: torch.Tensor, y: torch.Tensor, lambd: float):
    """Minimizer of mean((Xw + b - y)^2) / 2 + lambd * |w|^2 / 2, bias not penalized."""
    n, p = X.shape
    Xb = torch.cat([X, torch.ones(n, 1, dtype=X.dtype)], dim=1)
    A = Xb.T @ Xb / n
    A[:p, :p] += lambd * torch.eye(p, dtype=X.dtype)
    solution = torch.linalg.solve(A, Xb.T @ y / n)
    return solution[:p], solution[p]


# ------------------------------------------------------------- l2_penalty


def test_l2_penalty_is_half_the_squared_norm_of_any_shape():
    w = torch.tensor([[3.0], [-4.0]])
    assert d2l.l2_penalty(w).item() == 12.5
    M = torch.arange(6.0).reshape(2, 3)
    assert d2l.l2_penalty(M).item() == 55 / 2
    assert d2l.l2_penalty(torch.zeros(5)).item() == 0.0


def test_l2_penalty_gradient_is_the_weight_itself():
    torch.manual_seed(0)
    w = torch.randn(7, 1, dtype=torch.float64, requires_grad=True)
    d2l.l2_penalty(w).backward()
    torch.testing.assert_close(w.grad, w.detach())
    assert torch.autograd.gradcheck(d2l.l2_penalty, (w,))


# -------------------------------------------------------- WeightDecayScratch


def test_scratch_saves_its_hyperparameters_and_starts_like_linear_regression():
    torch.manual_seed(0)
    model = d2l.WeightDecayScratch(num_inputs=4, lambd=0.5, lr=0.1)
    assert model.hparams == {"num_inputs": 4, "lambd": 0.5, "lr": 0.1, "sigma": 0.01}
    assert isinstance(model, d2l.LinearRegressionScratch)
    assert model.w.shape == (4, 1)
    assert model.b.shape == (1,)
    assert model.w.requires_grad
    assert model.w.is_leaf
    assert float(model.w.detach().abs().max()) < 0.1
    assert float(model.b.detach()) == 0.0
    ids = {id(p) for p in model.parameters()}
    assert {id(model.w), id(model.b)} <= ids  # the optimizer and .to() see them


def test_scratch_loss_adds_lambda_times_the_penalty():
    torch.manual_seed(1)
    model = d2l.WeightDecayScratch(3, lambd=2.0, lr=0.1, sigma=1.0)
    y_hat, y = torch.randn(8, 1), torch.randn(8, 1)
    plain = ((y_hat - y) ** 2).mean() / 2
    expected = plain + 2.0 * (model.w.detach() ** 2).sum() / 2
    torch.testing.assert_close(model.loss(y_hat, y), expected)
    unpenalized = d2l.WeightDecayScratch(3, lambd=0, lr=0.1)
    torch.testing.assert_close(unpenalized.loss(y_hat, y), plain)


def test_scratch_gradient_is_data_gradient_plus_lambda_w_and_bias_is_not_penalized():
    torch.manual_seed(2)
    X, y = (
        torch.randn(10, 3, dtype=torch.float64),
        torch.randn(10, 1, dtype=torch.float64),
    )
    model = d2l.WeightDecayScratch(3, lambd=0.7, lr=0.1, sigma=1.0).double()
    model.loss(model(X), y).backward()
    residual = (X @ model.w + model.b - y).detach()
    torch.testing.assert_close(
        model.w.grad, X.T @ residual / 10 + 0.7 * model.w.detach()
    )
    torch.testing.assert_close(model.b.grad, residual.mean().reshape(1))


def test_one_scratch_step_shrinks_then_steps():
    torch.manual_seed(3)
    X, y = (
        torch.randn(6, 2, dtype=torch.float64),
        torch.randn(6, 1, dtype=torch.float64),
    )
    lambd, lr = 0.5, 0.1
    model = d2l.WeightDecayScratch(2, lambd, lr, sigma=1.0).double()
    w0 = model.w.detach().clone()
    data_grad = X.T @ (X @ w0 - y) / 6  # the bias starts at zero
    optimizer = model.configure_optimizers()
    optimizer.zero_grad()
    model.loss(model(X), y).backward()
    optimizer.step()
    torch.testing.assert_close(model.w.detach(), (1 - lr * lambd) * w0 - lr * data_grad)


@pytest.mark.parametrize("lambd", [-0.1, float("nan")])
def test_scratch_refuses_a_negative_or_missing_penalty(lambd):
    with pytest.raises(ValueError, match="lambd must be 0 or more"):
        d2l.WeightDecayScratch(3, lambd=lambd, lr=0.1)


def test_scratch_trained_full_batch_reaches_the_ridge_solution():
    torch.manual_seed(4)
    X = torch.randn(30, 5)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5], [0.0], [3.0]]) + 1.5
    data = d2l.SyntheticRegressionData(torch.ones(5), 0.0, num_train=30, num_val=0)
    data.X, data.y, data.batch_size = X, y, 30  # full batch: plain gradient descent
    model = d2l.WeightDecayScratch(5, lambd=0.3, lr=0.2)
    d2l.Trainer(max_epochs=400).fit(model, data)
    w, b = ridge(X.double(), y.double(), 0.3)
    torch.testing.assert_close(model.w.detach().double(), w, atol=1e-4, rtol=0)
    torch.testing.assert_close(
        model.b.detach().double(), b.reshape(1), atol=1e-4, rtol=0
    )
    # the penalty shrank the weights below the least-squares ones
    w_ls, _ = ridge(X.double(), y.double(), 0.0)
    assert float(w.norm()) < float(w_ls.norm())


# -------------------------------------------------------------- WeightDecay


def test_concise_optimizer_decays_the_weight_only():
    model = d2l.WeightDecay(wd=0.25, lr=0.05)
    assert model.hparams == {"wd": 0.25, "lr": 0.05}
    assert isinstance(model, d2l.LinearRegression)
    model(torch.ones(2, 3))  # the lazy layer takes its shape
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.SGD)
    groups = optimizer.param_groups
    assert [g["weight_decay"] for g in groups] == [0.25, 0.0]
    assert groups[0]["params"] == [model.net.weight]
    assert groups[1]["params"] == [model.net.bias]
    assert all(g["lr"] == 0.05 for g in groups)


def test_concise_step_decays_the_weight_and_not_the_bias():
    torch.manual_seed(5)
    X, y = torch.randn(8, 3), torch.randn(8, 1)
    model = d2l.WeightDecay(wd=0.4, lr=0.1)
    model(X)
    w0, b0 = (t.detach().clone() for t in model.get_w_b())
    optimizer = model.configure_optimizers()
    optimizer.zero_grad()
    model.loss(model(X), y).backward()
    grad_w, grad_b = model.net.weight.grad.clone(), model.net.bias.grad.clone()
    optimizer.step()
    w1, b1 = model.get_w_b()
    torch.testing.assert_close(w1, (1 - 0.1 * 0.4) * w0 - 0.1 * grad_w)
    torch.testing.assert_close(b1, b0 - 0.1 * grad_b)


def test_concise_with_twice_the_decay_and_half_the_rate_follows_the_scratch_model():
    # F.mse_loss has no 1/2: WeightDecay(2 lambd, lr / 2) takes the steps of
    # WeightDecayScratch(lambd, lr) (Section 3.7).
    torch.manual_seed(6)
    data = d2l.SensorArrayData(num_train=20, num_val=50, num_sensors=6, batch_size=5)
    scratch = d2l.WeightDecayScratch(6, lambd=0.5, lr=0.04)
    concise = d2l.WeightDecay(wd=1.0, lr=0.02)
    concise(data.X[:1])
    with torch.no_grad():
        concise.net.weight.copy_(scratch.w.T)
        concise.net.bias.copy_(scratch.b)
    for model in (scratch, concise):
        torch.manual_seed(7)  # the same minibatches
        d2l.Trainer(max_epochs=20).fit(model, data)
    w, b = concise.get_w_b()
    torch.testing.assert_close(w, scratch.w.detach().T, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(b, scratch.b.detach(), atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------- SensorArrayData


def test_sensor_data_shapes_and_hyperparameters():
    torch.manual_seed(0)
    data = d2l.SensorArrayData(num_train=12, num_val=30, num_sensors=7, num_gases=3)
    assert data.X.shape == (42, 7)
    assert data.y.shape == (42, 1)
    assert data.sensitivity.shape == (7, 3)
    assert data.gases.shape == (42, 3)
    assert 0 <= float(data.sensitivity.min())
    assert float(data.sensitivity.max()) <= 1
    assert data.num_sensors == 7
    assert data.batch_size == 5
    assert "SensorArrayData(num_train=12" in repr(data)


def test_sensor_readings_and_labels_follow_the_model():
    torch.manual_seed(1)
    data = d2l.SensorArrayData(
        num_train=20_000, num_val=0, num_sensors=4, num_gases=2, noise=0.5
    )
    sensor_noise = data.X - data.gases @ data.sensitivity.T
    label_error = data.y - data.gases[:, :1]
    assert math.isclose(float(sensor_noise.std()), 0.5, rel_tol=0.02)
    assert math.isclose(float(label_error.std()), 0.3, rel_tol=0.03)
    assert abs(float(data.gases.mean())) < 0.02
    assert math.isclose(float(data.gases.std()), 1.0, rel_tol=0.02)


def test_noiseless_sensors_and_labels_are_exact():
    torch.manual_seed(2)
    data = d2l.SensorArrayData(noise=0, label_noise=0, num_val=10)
    torch.testing.assert_close(data.X, data.gases @ data.sensitivity.T)
    torch.testing.assert_close(data.y, data.gases[:, :1])


def test_sensor_loaders_minibatch_training_and_one_validation_batch():
    torch.manual_seed(3)
    data = d2l.SensorArrayData(num_train=20, num_val=100, batch_size=6)
    train = data.train_dataloader()
    assert len(train) == 4
    assert [len(b[0]) for b in train] == [6, 6, 6, 2]
    seen = torch.cat([X for X, _ in train])
    assert sorted(seen[:, 0].tolist()) == sorted(data.X[:20, 0].tolist())
    (val,) = list(data.val_dataloader())
    assert torch.equal(val[0], data.X[20:])
    assert torch.equal(val[1], data.y[20:])
    assert len(d2l.SensorArrayData(num_val=0).val_dataloader()) == 0


def test_sensor_data_repeats_with_the_seed():
    d2l.seed(4)
    first = d2l.SensorArrayData()
    d2l.seed(4)
    again = d2l.SensorArrayData()
    assert torch.equal(first.X, again.X)
    assert torch.equal(first.y, again.y)


@pytest.mark.parametrize(
    "kwargs",
    [{"num_sensors": 0}, {"num_gases": 0}, {"label_noise": -0.1}],
)
def test_sensor_data_refuses_impossible_arguments(kwargs):
    with pytest.raises(ValueError, match="SensorArrayData needs"):
        d2l.SensorArrayData(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"num_train": 0}, "num_train must be positive"), ({"noise": -1.0}, "noise")],
)
def test_sensor_data_checks_the_shared_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2l.SensorArrayData(**kwargs)


def test_weight_decay_helps_on_the_sensor_array():
    # The section's claim, on other draws: the ridge solution with a moderate penalty
    # predicts the validation labels better than the least-norm exact fit.
    better = 0
    for seed in range(10):
        d2l.seed(seed)
        data = d2l.SensorArrayData()
        X, y = data.X.double(), data.y.double()
        errors = []
        for lambd in (1e-9, 1.0):
            w, b = ridge(X[:20], y[:20], lambd)
            errors.append(float(((X[20:] @ w + b - y[20:]) ** 2).mean()))
        better += errors[1] < errors[0]
    assert better >= 9
