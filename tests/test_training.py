"""d2lutil.training: HyperParameters, add_to_class, Module, Trainer, SGD and utilities."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from torch import nn

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


def make_data(num_train=1000, batch_size=32, seed=0):
    d2l.seed(seed)
    return d2l.SyntheticRegressionData(
        w=torch.tensor([2.0, -3.4]), b=4.2, num_train=num_train, batch_size=batch_size
    )


# --------------------------------------------------------- HyperParameters


class Point(d2l.HyperParameters):
    def __init__(self, x, y=2, _hidden=3, skipped=4):
        local = "not an argument"  # noqa: F841
        self.save_hyperparameters(ignore=["skipped"])


def test_save_hyperparameters_saves_the_arguments_only():
    p = Point(1)
    assert (p.x, p.y) == (1, 2)
    assert p.hparams == {"x": 1, "y": 2}
    assert not hasattr(p, "skipped")
    assert not hasattr(p, "_hidden")
    assert not hasattr(p, "local")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_epochs": 0}, "max_epochs must be positive"),
        ({"max_epochs": -3}, "max_epochs must be positive"),
        ({"max_epochs": 2.5}, "max_epochs must be an integer"),
        ({"max_epochs": 1, "num_gpus": -1}, "num_gpus must be 0 or more"),
        ({"max_epochs": 1, "gradient_clip_val": -1.0}, "gradient_clip_val must be 0"),
    ],
)
def test_trainer_rejects_bad_settings(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        d2l.Trainer(**kwargs)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
def test_models_reject_a_bad_learning_rate(lr):
    for make in (
        lambda: d2l.LinearRegressionScratch(2, lr=lr),
        lambda: d2l.LinearRegression(lr=lr),
        lambda: d2l.SoftmaxRegression(10, lr=lr),
        lambda: d2l.MLP(10, 16, lr=lr),
        lambda: d2l.SGD([torch.zeros(1, requires_grad=True)], lr=lr),
    ):
        with pytest.raises((ValueError, TypeError), match="lr must be"):
            make()


def test_repr_shows_the_hyperparameters():
    assert repr(Point(1)) == "Point(x=1, y=2)"
    assert repr(d2l.Trainer(max_epochs=3, num_gpus=1)) == (
        "Trainer(max_epochs=3, num_gpus=1, gradient_clip_val=0)"
    )
    sgd = d2l.SGD([torch.zeros(2, requires_grad=True)], lr=0.5)
    assert repr(sgd) == "SGD(params=<1 tensor>, lr=0.5)"
    data = d2l.SyntheticRegressionData(torch.tensor([2.0, -3.4]), 4.2)
    assert repr(data).startswith(
        "SyntheticRegressionData(w=tensor([ 2.0000, -3.4000]), b=4.2"
    )


# ------------------------------------------------------------ add_to_class


def test_add_to_class_adds_a_method():
    class A:
        def __init__(self):
            self.b = 1

    a = A()

    @d2l.add_to_class(A)
    def do(self):
        return self.b + 1

    assert a.do() == 2
    assert do(a) == 2  # the function stays usable under its name


def test_taught_methods_are_ordinary_methods_of_the_package_classes():
    for cls, names in {
        d2l.Module: [
            "loss",
            "forward",
            "plot",
            "training_step",
            "validation_step",
            "configure_optimizers",
            "apply_init",
        ],
        d2l.Trainer: [
            "prepare_data",
            "prepare_model",
            "fit",
            "prepare_batch",
            "fit_epoch",
            "clip_gradients",
        ],
        d2l.DataModule: [
            "get_dataloader",
            "train_dataloader",
            "val_dataloader",
            "get_tensorloader",
        ],
    }.items():
        for name in names:
            assert name in vars(cls), (
                f"{cls.__name__}.{name} must be defined in the class body"
            )


# ------------------------------------------------------------------ Module


class Scratch(d2l.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.ones(3, requires_grad=True)
        self.c = torch.arange(3)  # an integer tensor: not a parameter, not a mistake
        self.lin = nn.Linear(3, 1)


def test_a_leaf_that_requires_grad_becomes_a_parameter_in_place():
    w = torch.ones(3, requires_grad=True)
    model = d2l.Module()
    model.w = w
    assert model.w is w  # the same tensor object, now an nn.Parameter
    assert isinstance(w, nn.Parameter)
    assert w.is_leaf
    assert w.requires_grad
    assert [name for name, _ in model.named_parameters()] == ["w"]


def test_scratch_parameters_are_registered_in_assignment_order():
    model = Scratch()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["w", "lin.weight", "lin.bias"]
    assert list(model.parameters())[0] is model.w
    assert list(model.state_dict()) == ["w", "lin.weight", "lin.bias"]
    assert "c" not in dict(model.named_buffers())
    softmax = d2l.SoftmaxRegressionScratch(num_inputs=4, num_outputs=3, lr=0.1)
    assert [name for name, _ in softmax.named_parameters()] == ["W", "b"]
    assert [p.shape for p in softmax.parameters(recurse=False)] == [(4, 3), (3,)]


def test_to_moves_scratch_parameters_and_their_gradients_keeping_them_leaves():
    model = Scratch()
    model.w.grad = torch.full((3,), 0.5)
    model.to("meta")
    assert isinstance(model.w, nn.Parameter)
    assert model.w.device.type == "meta"
    assert model.w.is_leaf
    assert model.w.requires_grad
    assert model.w.grad.device.type == "meta"
    assert model.lin.weight.device.type == "meta"
    assert model.c.device.type == "cpu"  # a plain tensor attribute is not moved


def test_double_converts_scratch_parameters_and_an_optimizer_made_after_updates_them():
    model = d2l.LinearRegressionScratch(2, lr=0.5)
    model.double()
    assert model.w.dtype == torch.float64
    assert model.b.dtype == torch.float64
    opt = model.configure_optimizers()
    X = torch.ones(4, 2, dtype=torch.float64)
    loss = model.loss(model(X), torch.ones(4, 1, dtype=torch.float64))
    loss.backward()
    before = model.b.detach().clone()
    opt.step()
    assert not torch.equal(model.b, before)


def test_state_dict_saves_and_loads_a_scratch_model(tmp_path):
    d2l.seed(0)
    trained = d2l.LinearRegressionScratch(2, lr=0.1)
    d2l.Trainer(max_epochs=1).fit(trained, make_data(num_train=64))
    torch.save(trained.state_dict(), tmp_path / "model.pt")
    fresh = d2l.LinearRegressionScratch(2, lr=0.1)
    assert not torch.equal(fresh.w, trained.w)
    fresh.load_state_dict(torch.load(tmp_path / "model.pt"))
    assert torch.equal(fresh.w, trained.w)
    assert torch.equal(fresh.b, trained.b)
    assert isinstance(fresh.w, nn.Parameter)
    X = torch.randn(5, 2)
    torch.testing.assert_close(fresh(X), trained(X), rtol=0, atol=0)


def test_the_book_code_still_runs():
    # SGD over the attributes, an in-place update under no_grad, a parameters()
    # override that returns a list: all as Dive into Deep Learning writes them.
    class Book(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.W = torch.normal(0, 0.01, (2, 2), requires_grad=True)
            self.b = torch.zeros(2, requires_grad=True)

        def parameters(self):
            return [self.W, self.b]

        def forward(self, X):
            return X @ self.W + self.b

    d2l.seed(0)
    model = Book(lr=0.5)
    opt = d2l.SGD([model.W, model.b], lr=0.5)
    X, y = torch.randn(64, 2), torch.arange(64) % 2
    X[y == 1] += 3.0
    for _ in range(20):
        opt.zero_grad()
        model.loss(model(X), y).backward()
        opt.step()
    W = model.W.detach().clone()
    loss = model.loss(model(X), y)
    loss.backward()
    with torch.no_grad():
        model.W -= 0.5 * model.W.grad
    assert isinstance(model.W, nn.Parameter)
    assert not torch.equal(model.W, W)
    assert model.accuracy(model(X), y) > 0.9
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the list is accepted
    data = d2l.SyntheticRegressionData(torch.tensor([1.0, 2.0]), 0.0, num_train=64)
    data.y = (data.y > data.y.median()).long().reshape(-1)
    d2l.Trainer(max_epochs=1, gradient_clip_val=1.0).fit(model, data)


def test_an_attribute_that_aliases_a_parameter_is_stepped_once():
    class Aliased(d2l.Module):
        def __init__(self):
            super().__init__()
            self.lr = 0.1
            self.w = torch.zeros(2, 1, requires_grad=True)
            self.weights = self.w  # the same tensor under a second name

        def forward(self, X):
            return X @ self.w

        def loss(self, y_hat, y):
            return ((y_hat - y) ** 2).mean()

    model = Aliased()
    assert [p is model.w for p in model.parameters()] == [True]
    opt = model.configure_optimizers()
    X, y = torch.ones(4, 2), torch.ones(4, 1)
    model.loss(model(X), y).backward()
    grad = model.w.grad.clone()
    opt.step()
    torch.testing.assert_close(model.w.detach(), -0.1 * grad)


def test_replacing_a_parameter_by_an_untrainable_tensor_is_refused():
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    model.loss(model(torch.ones(3, 2)), torch.ones(3, 1)).backward()
    with pytest.raises(TypeError, match=r"w is a parameter.*without requires_grad.*-="):
        with torch.no_grad():
            model.w = model.w - 0.1 * model.w.grad
    with pytest.raises(TypeError, match=r"w is a parameter.*a computed tensor"):
        model.w = model.w * 2
    model.w = torch.zeros(2, 1, requires_grad=True)  # a new leaf: fine
    assert isinstance(model.w, nn.Parameter)


def test_a_computed_weight_in_init_is_refused_with_the_fix():
    class Slip(d2l.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.randn(2, 1, requires_grad=True) * 0.01

    with pytest.raises(ValueError, match=r"Slip.w is computed.*not a leaf") as error:
        Slip()
    assert "self.w = (torch.randn(2, 1) * 0.01).requires_grad_()" in str(error.value)


def test_a_computed_tensor_may_be_cached_outside_init():
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    model.hidden = model.w * 2  # e.g. an activation kept for a plot
    assert "hidden" not in dict(model.named_parameters())


def test_a_parameter_before_super_init_is_refused():
    class NoSuper(d2l.Module):
        def __init__(self):
            self.w = torch.zeros(1, requires_grad=True)

    with pytest.raises(AttributeError, match=r"before calling super\(\).__init__\(\)"):
        NoSuper()


def test_a_weight_without_requires_grad_stops_fit_naming_it():
    class Forgot(d2l.Module):  # a student's 3.4: only b is trained, w stays random
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.w = torch.normal(0, 0.01, (2, 1))  # requires_grad=True forgotten
            self.b = torch.zeros(1, requires_grad=True)

        def forward(self, X):
            return X @ self.w + self.b

        def loss(self, y_hat, y):
            return ((y_hat - y) ** 2).mean() / 2

    with pytest.raises(
        TypeError, match=r"Forgot.w is a float tensor that does not"
    ) as e:
        d2l.Trainer(max_epochs=1).fit(Forgot(lr=0.1), make_data(num_train=64))
    assert "requires_grad=True" in str(e.value)
    assert "register_buffer('w'" in str(e.value)


def test_a_tensor_hyperparameter_is_not_mistaken_for_a_weight():
    class Weighted(d2l.LinearRegressionScratch):
        def __init__(self, scale):
            super().__init__(2, lr=0.1)
            self.save_hyperparameters()

        def loss(self, y_hat, y):
            return super().loss(y_hat * self.scale, y)

    model = Weighted(torch.tensor(1.0))
    d2l.Trainer(max_epochs=1).fit(model, make_data(num_train=64))


def test_requires_grad_set_after_the_assignment_is_registered_by_fit():
    class Late(d2l.LinearRegressionScratch):
        def __init__(self):
            super().__init__(2, lr=0.1)
            del self.w
            self.w = torch.zeros(2, 1)
            self.w.requires_grad_()  # after the assignment: not registered yet

    model = Late()
    assert [name for name, _ in model.named_parameters()] == ["b"]
    d2l.Trainer(max_epochs=1).fit(model, make_data(num_train=64))
    assert [name for name, _ in model.named_parameters()] == ["b", "w"]
    assert model.w.abs().sum() > 0  # trained


def test_module_overrides_no_private_method_of_torch():
    # Overriding nn.Module._apply broke torch 2.0 (its signature changed in 2.1).
    class Plain:
        """What Python itself puts in a class (3.13 adds __firstlineno__ and others)."""

    defined = {name for name in vars(d2l.Module) if name.startswith("_")}
    assert defined - set(vars(Plain)) <= {"__init__", "__setattr__", "__getattr__"}
    assert "parameters" not in vars(d2l.Module)
    assert "parameters" not in vars(d2l.SoftmaxRegressionScratch)


def test_module_forward_uses_net_and_loss_must_be_defined():
    m = d2l.Module()
    m.net = nn.Linear(2, 1)
    X = torch.randn(5, 2)
    torch.testing.assert_close(m(X), m.net(X))
    with pytest.raises(NotImplementedError, match="loss"):
        m.loss(X, X)


def test_apply_init_initialises_lazy_layers():
    d2l.seed(0)
    model = d2l.MLP(num_outputs=3, num_hiddens=4, lr=0.1)

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.25)
            nn.init.zeros_(module.bias)

    model.apply_init([torch.randn(2, 1, 2, 2)], init)
    for layer in (model.net[1], model.net[3]):
        assert torch.all(layer.weight == 0.25)
        assert torch.all(layer.bias == 0)
    assert model.net[1].weight.shape == (4, 4)


def test_apply_init_without_init_materialises_and_reports_unreached_layers():
    class TwoHeads(d2l.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.LazyLinear(2)
            self.unused = nn.LazyLinear(2)

        def forward(self, X):
            return self.used(X)

    model = TwoHeads()
    with pytest.raises(RuntimeError, match="unused.weight"):
        model.apply_init([torch.randn(1, 3)])
    assert model.used.weight.shape == (2, 3)


# ------------------------------------------------------------------ SGD


def test_sgd_matches_torch_sgd():
    torch.manual_seed(0)
    a = torch.randn(3, 2, requires_grad=True)
    b = a.detach().clone().requires_grad_()
    ours, theirs = d2l.SGD([a], lr=0.3), torch.optim.SGD([b], lr=0.3)
    for _ in range(3):
        for p, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            (p**3).sum().backward()
            opt.step()
    torch.testing.assert_close(a, b)
    ours.zero_grad()
    assert torch.all(a.grad == 0)


def test_sgd_accepts_a_generator_of_parameters():
    lin = nn.Linear(2, 1)
    start = [p.detach().clone() for p in lin.parameters()]
    opt = d2l.SGD(lin.parameters(), lr=0.1)
    lin(torch.ones(1, 2)).sum().backward()  # every gradient is 1
    opt.step()
    opt.step()  # the parameters were kept as a list, not a spent generator
    for before, after in zip(start, lin.parameters(), strict=True):
        torch.testing.assert_close(after.detach(), before - 0.2)  # two steps of 0.1


# ------------------------------------------------------------------ Trainer


def test_concise_linear_regression_recovers_w_and_b():
    data = make_data()
    model = d2l.LinearRegression(lr=0.03)
    d2l.Trainer(max_epochs=3).fit(model, data)
    w, b = model.get_w_b()
    assert torch.allclose(w.reshape(-1), torch.tensor([2.0, -3.4]), atol=0.05)
    assert abs(float(b) - 4.2) < 0.05


def test_scratch_linear_regression_learns():
    data = make_data()
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    trainer = d2l.Trainer(max_epochs=3, num_gpus=1)  # falls back to the CPU here
    trainer.fit(model, data)
    assert torch.allclose(model.w.reshape(-1), torch.tensor([2.0, -3.4]), atol=0.05)
    assert abs(float(model.b.detach()) - 4.2) < 0.05
    assert model.w.is_leaf


def test_trainer_counts_batches_and_plots_on_the_board():
    data = make_data(num_train=100, batch_size=32)
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    trainer = d2l.Trainer(max_epochs=2)
    trainer.fit(model, data)
    assert trainer.num_train_batches == 4
    assert trainer.num_val_batches == 32
    assert trainer.train_batch_idx == 8
    assert trainer.val_batch_idx == 64
    # two training points per epoch, each the mean of two batches at x = i / 4
    # (i counts the batches before this one), and one validation point per epoch
    xs = [x for x, _ in model.board.data["train_loss"]]
    assert xs == [0.125, 0.625, 1.125, 1.625]
    assert [x for x, _ in model.board.data["val_loss"]] == [1.0, 2.0]
    assert model.board.xlim == [0, 2]


def test_fit_without_validation_data_trains_and_plots_training_only():
    class TrainOnly(d2l.SyntheticRegressionData):
        def val_dataloader(self):
            return None

    d2l.seed(0)
    data = TrainOnly(torch.tensor([2.0, -3.4]), 4.2, num_train=64, batch_size=32)
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    trainer = d2l.Trainer(max_epochs=3)
    trainer.fit(model, data)
    assert trainer.num_val_batches == 0
    assert trainer.val_batch_idx == 0
    assert trainer.train_batch_idx == 6
    assert trainer.epoch == 2
    assert set(model.board.data) == {"train_loss"}


def test_steps_pass_every_entry_but_the_last_to_forward():
    class Sum(d2l.Module):
        def forward(self, A, B):
            return A + B

        def loss(self, y_hat, y):
            return ((y_hat - y) ** 2).mean()

    model = Sum()
    model.board = d2l.ProgressBoard(display=False)
    model.trainer = d2l.Trainer(max_epochs=1)
    model.trainer.train_batch_idx, model.trainer.num_train_batches = 0, 1
    model.trainer.epoch, model.trainer.num_val_batches = 0, 1
    A, B, y = torch.ones(4, 1), torch.full((4, 1), 2.0), torch.full((4, 1), 5.0)
    torch.testing.assert_close(model.training_step([A, B, y]), torch.tensor(4.0))
    model.validation_step((A, B, y))
    assert model.board.data["train_loss"] == [(0.0, 4.0)]
    assert model.board.data["val_loss"] == [(1.0, 4.0)]


def test_a_diverging_loss_stops_fit_naming_epoch_and_batch():
    data = make_data(num_train=320, batch_size=32)
    model = d2l.LinearRegressionScratch(2, lr=1e6)
    with pytest.raises(
        FloatingPointError, match=r"epoch \d+ of 5, batch \d+ of 10.*lr"
    ):
        d2l.Trainer(max_epochs=5).fit(model, data)


def test_nan_in_the_data_is_reported_before_training_not_as_a_learning_rate():
    data = make_data(num_train=64, batch_size=32)
    data.X[5, 1] = math.nan
    data.X[9] = math.inf
    model = d2l.LinearRegression(lr=0.1)
    with pytest.raises(ValueError, match="training data holds nan or inf") as error:
        d2l.Trainer(max_epochs=1).fit(model, data)
    assert "3 values of its inputs, in 2 examples, the first at index 5" in str(
        error.value
    )
    assert "too large" not in str(error.value)  # not the learning rate's fault
    assert model.board.data == {}  # nothing trained


def test_huge_but_finite_data_is_not_mistaken_for_nan():
    # The data is checked by its sum, which is finite only if every value is; a sum that
    # overflows is looked at closely, and finite data passes.
    data = make_data(num_train=64, batch_size=32)
    data.X[:, 0] = 3e38  # float32's largest values: their sum is inf
    trainer = d2l.Trainer(max_epochs=1)
    trainer.prepare_data(data)
    trainer.model, trainer.optim = (
        d2l.LinearRegression(lr=0.1),
        d2l.SGD([torch.zeros(1, requires_grad=True)], lr=0.1),
    )
    trainer.check_setup()  # no error


def test_nan_only_in_the_validation_data_is_reported_before_training():
    data = make_data(num_train=64, batch_size=32)
    data.y[-1] = math.nan  # a validation target
    with pytest.raises(
        ValueError, match=r"validation data holds nan or inf: 1 values of its tensor 1"
    ):
        d2l.Trainer(max_epochs=1).fit(d2l.LinearRegression(lr=0.1), data)


def test_clip_gradients_bounds_the_norm():
    model = nn.Linear(3, 2)
    for p in model.parameters():
        p.grad = torch.full_like(p, 10.0)
    d2l.Trainer(max_epochs=1, gradient_clip_val=1.0).clip_gradients(1.0, model)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert math.isclose(float(norm), 1.0, rel_tol=1e-5)
    # directions are kept: all entries are still equal
    assert torch.allclose(model.weight.grad, model.weight.grad[0, 0].expand(2, 3))


def test_clip_gradients_leaves_small_gradients_alone():
    model = nn.Linear(3, 2)
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.01)
    d2l.Trainer(max_epochs=1).clip_gradients(1.0, model)
    assert torch.all(model.weight.grad == 0.01)


def test_training_with_gradient_clipping_takes_bounded_steps():
    data = make_data()
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    start = torch.cat([model.w.detach().reshape(-1), model.b.detach()])
    trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1.0)
    trainer.fit(model, data)
    end = torch.cat([model.w.detach().reshape(-1), model.b.detach()])
    # every step moves the parameters by at most lr * clip value
    assert float((end - start).norm()) <= 0.03 * 1.0 * trainer.train_batch_idx + 1e-6
    assert 1.0 < float(model.b.detach()) < 4.2  # it learns, clipped


def test_trainer_puts_loaders_on_the_training_device(monkeypatch):
    data = make_data(num_train=64, batch_size=32)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.gpus = [torch.device("meta")]  # stands in for a GPU
    trainer.prepare_data(data)
    X, y = next(iter(trainer.train_dataloader))
    assert X.device.type == "meta"
    assert y.device.type == "meta"
    assert data.X.device.type == "cpu"  # the data module keeps its own copy
    batch = trainer.prepare_batch([torch.zeros(2), torch.ones(2)])
    assert all(a.device.type == "meta" for a in batch)


# ------------------------------------------------------------ utilities


def test_timer_records_the_laps_of_its_clock(monkeypatch):
    from d2lutil import training

    clock = iter([10.0, 10.5, 20.0, 20.25])  # start, stop, start, stop
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(clock))
    timer = d2l.Timer()
    assert timer.stop() == 0.5
    timer.start()
    assert timer.stop() == 0.25
    assert timer.times == [0.5, 0.25]
    assert (timer.sum(), timer.avg(), timer.cumsum()) == (0.75, 0.375, [0.5, 0.75])
    assert repr(timer) == "Timer(2 times recorded)"


def test_seed_makes_every_generator_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    d2l.seed(3)
    first = draw()
    d2l.seed(3)
    assert draw() == first
    d2l.seed(4)
    assert draw() != first


# --------------------------------------------------- bugs and bad input


def test_timer_laps_add_up():
    timer = d2l.Timer()
    timer.times = [0.5, 0.25, 1.0]  # laps recorded earlier
    assert (timer.sum(), timer.avg()) == (1.75, 1.75 / 3)
    assert timer.cumsum() == [0.5, 0.75, 1.75]


def test_clip_gradients_without_any_gradient_does_nothing():
    model = d2l.LinearRegressionScratch(2, lr=0.1)  # no backward yet: no .grad
    d2l.Trainer(max_epochs=1).clip_gradients(1.0, model)
    assert model.w.grad is None
    assert model.b.grad is None


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ([], r"at least one tensor to train, got none; e\.g\. SGD\(\[w, b\]"),
        (iter([]), r"at least one tensor to train, got none"),
        ([torch.zeros(2)], r"item 0 .* shape \(2,\), does not require grad.*e\.g\."),
    ],
)
def test_sgd_needs_tensors_that_require_grad(params, match):
    with pytest.raises(ValueError, match=match):
        d2l.SGD(params, lr=0.1)


def test_sgd_step_before_backward_changes_nothing_as_torch_sgd():
    ours, theirs = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    d2l.SGD([ours], lr=0.1).step()
    torch.optim.SGD([theirs], lr=0.1).step()
    assert ours.tolist() == theirs.tolist() == [1.0, 1.0]


class CountingLoss(d2l.LinearRegression):
    """Turns the loss of one chosen batch into nan; counts how often it is looked at."""

    def __init__(self, bad_batch):
        super().__init__(lr=0.01)
        self.bad_batch, self.seen = bad_batch, 0

    def loss(self, y_hat, y):
        loss = super().loss(y_hat, y)
        self.seen += self.training  # training batches only
        return loss * math.nan if self.seen == self.bad_batch else loss


@pytest.mark.parametrize(
    ("bad", "epoch", "batch"), [(3, 1, 3), (75, 1, 75), (130, 2, 30)]
)
def test_the_loss_check_names_the_first_bad_batch(bad, epoch, batch):
    # 100 training batches per epoch: losses are looked at every 50 batches and at
    # the end of the epoch, and the message still names the batch that went bad.
    data = make_data(num_train=100, batch_size=1)
    with pytest.raises(
        FloatingPointError, match=f"nan in epoch {epoch} of 3, batch {batch} of 100"
    ):
        d2l.Trainer(max_epochs=3).fit(CountingLoss(bad), data)


def test_on_an_accelerator_the_loss_is_looked_at_once_per_check_interval(monkeypatch):
    from d2lutil import training

    monkeypatch.setattr(training, "_looked_at_once", lambda loss: False)  # a GPU's
    looks = []
    real_stack = torch.stack

    def counting_stack(tensors, *args, **kwargs):
        looks.append(len(tensors))
        return real_stack(tensors, *args, **kwargs)

    data = make_data(num_train=120, batch_size=1)
    model = d2l.LinearRegression(lr=0.01)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.prepare_data(data)
    trainer.prepare_model(model)
    trainer.optim = model.configure_optimizers()
    trainer.train_batch_idx = trainer.val_batch_idx = trainer.epoch = 0
    trainer.val_dataloader = None
    monkeypatch.setattr(torch, "stack", counting_stack)
    trainer.fit_epoch()
    assert looks == [50, 50, 20]  # every 50 batches and at the end of the epoch


class ListBoard:
    """A board of the reader's own: draw() only, no show()."""

    def __init__(self):
        self.calls = []

    def draw(self, x, y, label, every_n=1):
        self.calls.append(label)


def test_fit_works_with_any_board():
    model = d2l.LinearRegression(lr=0.01)
    model.board = ListBoard()
    d2l.Trainer(max_epochs=1).fit(model, make_data(num_train=64))
    assert set(model.board.calls) == {"train_loss", "val_loss"}


def test_board_points_have_x_and_y():
    model = d2l.LinearRegression(lr=0.03)
    model.board = d2l.ProgressBoard(display=False)
    d2l.Trainer(max_epochs=2).fit(model, make_data())
    last = model.board.data["val_loss"][-1]
    assert (last.x, last.y) == tuple(last)
    assert last.x == 2.0
    assert last.y < 0.05


# ------------------------------------------------------------ Accumulator


def test_accumulator_sums_numbers_and_one_element_tensors():
    metric = d2l.Accumulator(3)
    metric.add(1.5, torch.tensor(2), 4)
    metric.add(torch.tensor([0.5]), 1, np.int64(6))
    assert (metric[0], metric[1], metric[2]) == (2.0, 3.0, 10.0)
    assert len(metric) == 3
    assert repr(metric) == "Accumulator([2.0, 3.0, 10.0])"
    assert metric[0] / metric[2] == 0.2
    metric.reset()
    assert metric.data == [0.0, 0.0, 0.0]


def test_accumulator_in_a_training_loop_of_the_older_editions():
    d2l.seed(0)
    data = make_data(num_train=96)
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    metric = d2l.Accumulator(2)
    with torch.no_grad():
        for X, y in data.val_dataloader():
            metric.add(((model(X) - y) ** 2).sum() / 2, y.numel())
        expected = ((model(data.X[96:]) - data.y[96:]) ** 2).mean() / 2
    assert metric[0] / metric[1] == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("n", [0, -1, 2.0, "3", True])
def test_accumulator_needs_a_positive_count(n):
    with pytest.raises(
        ValueError, match=r"Accumulator\(n\) needs .* e\.g\. Accumulator"
    ):
        d2l.Accumulator(n)


def test_accumulator_add_needs_one_value_per_sum():
    metric = d2l.Accumulator(3)
    with pytest.raises(ValueError, match="needs 3 values, one per sum, got 2"):
        metric.add(1.0, 2.0)
    assert metric.data == [0.0, 0.0, 0.0]  # nothing half-added


# ------------------------------------------- bad input: optimizers (issue 23)


def test_sgd_refuses_a_tensor_instead_of_a_list():
    w = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match=r"single tensor of shape \(2, 3\).*SGD\(\[w\]"):
        d2l.SGD(w, lr=0.1)


def test_sgd_refuses_a_computed_tensor_that_would_never_move():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"item 1 .* is computed from another tensor"):
        d2l.SGD([w, w * 1.0], lr=0.1)


def test_sgd_refuses_a_tensor_listed_twice():
    w, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match=r"items 0 and 2 .* same tensor.*twice"):
        d2l.SGD([w, b, w], lr=0.1)


def test_sgd_refuses_what_is_not_a_tensor():
    with pytest.raises(TypeError, match=r"item 0 .* is a float \(1\.0\), not a tensor"):
        d2l.SGD([1.0], lr=0.1)


def test_sgd_takes_a_learning_rate_given_as_a_tensor():
    ours = torch.ones(2, requires_grad=True)
    opt = d2l.SGD([ours], lr=torch.tensor(0.25))
    (ours * torch.tensor([1.0, 2.0])).sum().backward()
    opt.step()
    assert ours.tolist() == [0.75, 0.5]


# ---------------------------------------------- bad input: fit's arguments


def test_fit_with_its_arguments_swapped_says_so():
    data, model = make_data(num_train=64), d2l.LinearRegressionScratch(2, lr=0.1)
    with pytest.raises(
        TypeError, match=r"model first.*got SyntheticRegressionData and "
    ):
        d2l.Trainer(max_epochs=1).fit(data, model)


@pytest.mark.parametrize(
    ("model", "data", "match"),
    [
        ("class", "data", r"needs the model itself, an instance, got the class Linear"),
        ("model", "class", r"needs the data itself, an instance, got the class Synth"),
        ("model", "loader", r"needs a data module .* got a TensorLoader"),
        ("model", None, r"needs a data module .* got None"),
        ("net", "data", r"trains a d2l.Module .* got a Linear"),
    ],
)
def test_fit_names_the_argument_that_is_wrong(model, data, match):
    real = make_data(num_train=64)
    given = {
        "class": d2l.LinearRegressionScratch,
        "model": d2l.LinearRegressionScratch(2, lr=0.1),
        "net": nn.Linear(2, 1),
    }.get(model)
    data = {"data": real, "class": d2l.SyntheticRegressionData}.get(
        data, real.train_dataloader() if data == "loader" else data
    )
    with pytest.raises(TypeError, match=match):
        d2l.Trainer(max_epochs=1).fit(given, data)
    assert not hasattr(d2l.LinearRegressionScratch, "trainer")  # the class is untouched


def test_fit_of_a_model_whose_init_forgot_super_init():
    class Student(d2l.LinearRegressionScratch):
        def __init__(self):
            self.lr = 0.1

    with pytest.raises(TypeError, match=r"Student.__init__ did not call super\(\)"):
        d2l.Trainer(max_epochs=1).fit(Student(), make_data(num_train=64))


def test_fit_of_a_model_without_parameters():
    class Nothing(d2l.Module):
        def forward(self, X):
            return X.sum(dim=1, keepdim=True)

    with pytest.raises(ValueError, match=r"Nothing has no parameters to train"):
        d2l.Trainer(max_epochs=1).fit(Nothing(), make_data(num_train=64))


class Hook(d2l.LinearRegressionScratch):
    """A scratch model whose configure_optimizers or training_step returns ``kind``."""

    def __init__(self, kind):
        super().__init__(2, lr=0.1)
        self.kind = kind

    def configure_optimizers(self):
        opt = super().configure_optimizers()
        return None if self.kind == "no optimizer" else opt

    def training_step(self, batch):
        loss = super().training_step(batch)
        return {
            "no return": None,
            "item": loss.item() if loss.numel() == 1 else loss,
            "per example": ((self(batch[0]) - batch[1]) ** 2).reshape(-1),
            "detached": loss.detach(),
        }.get(self.kind, loss)


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        (
            "no optimizer",
            TypeError,
            r"configure_optimizers\(\) returned None.*return\?",
        ),
        (
            "no return",
            TypeError,
            r"training_step returned None \(a forgotten return\?\)",
        ),
        ("item", TypeError, r"returned a float .*\.item\(\) cuts the loss off"),
        ("per example", ValueError, r"tensor of shape \(32,\), not a single number"),
        ("detached", ValueError, r"loss that does not require grad.*detached"),
    ],
)
def test_what_the_hooks_return_is_checked_at_the_first_batch(kind, error, match):
    model = Hook(kind)
    w = model.w.detach().clone()
    with pytest.raises(error, match=match):
        d2l.Trainer(max_epochs=1).fit(model, make_data(num_train=64))
    assert torch.equal(model.w.detach(), w)  # no step was taken


def test_fit_on_an_empty_training_set_says_so():
    class Empty(d2l.SyntheticRegressionData):
        def get_dataloader(self, train):
            n = 0 if train else self.num_train
            return self.get_tensorloader((self.X[:n], self.y[:n]), train)

    with pytest.raises(ValueError, match=r"training data holds no examples.*0 batches"):
        d2l.Trainer(max_epochs=1).fit(
            d2l.LinearRegressionScratch(2, 0.1), Empty(torch.tensor([2.0, -3.4]), 4.2)
        )


def test_a_model_built_for_other_inputs_is_named_before_training():
    with pytest.raises(ValueError, match=r"num_inputs=3 .* have 2 \(inputs of shape"):
        d2l.Trainer(max_epochs=1).fit(
            d2l.LinearRegressionScratch(3, lr=0.1), make_data(num_train=64)
        )


def test_token_inputs_are_not_compared_with_num_inputs():
    class Embedding(d2l.Module):  # num_inputs: the vocabulary, inputs: token indices
        def __init__(self, num_inputs, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(nn.Embedding(num_inputs, 2), nn.Flatten(1))

        def loss(self, y_hat, y):
            return ((y_hat.sum(dim=1, keepdim=True) - y) ** 2).mean()

    class Tokens(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 8

        def get_dataloader(self, train):
            X, y = torch.randint(0, 100, (16, 3)), torch.randn(16, 1)
            return self.get_tensorloader((X, y), train)

    d2l.Trainer(max_epochs=1).fit(Embedding(num_inputs=100, lr=0.1), Tokens())


def test_a_model_used_without_a_trainer_says_so():
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    with pytest.raises(AttributeError, match="not attached to a Trainer"):
        model.training_step([torch.randn(4, 2), torch.randn(4, 1)])
    assert not hasattr(model, "trainer")  # still an AttributeError: hasattr works


class BadAt(d2l.LinearRegression):
    """The loss of training batch ``bad`` (counted from 1) is multiplied by ``value``."""

    def __init__(self, bad, value):
        super().__init__(lr=0.01)
        self.bad, self.value, self.seen, self.stepped = bad, value, 0, []

    def loss(self, y_hat, y):
        loss = super().loss(y_hat, y)
        if self.training:
            self.seen += 1
            self.stepped.append(self.net.weight.detach().clone())
            return loss * self.value if self.seen == self.bad else loss
        return loss


@pytest.mark.parametrize(
    ("bad", "value"), [(4, math.inf), (3, math.nan), (100, math.inf)]
)
def test_on_the_cpu_training_stops_at_the_bad_batch_before_its_step(bad, value):
    model = BadAt(bad, value)
    with pytest.raises(
        FloatingPointError, match=f"epoch 1 of 2, batch {bad} of 100"
    ) as stopped:
        d2l.Trainer(max_epochs=2).fit(model, make_data(num_train=100, batch_size=1))
    assert model.seen == bad  # not one batch more
    assert torch.isfinite(model.net.weight).all()  # the bad loss took no step
    assert "The model's parameters produced this loss" in str(stopped.value)


def test_after_divergence_the_message_says_to_create_the_model_again():
    model = d2l.LinearRegressionScratch(2, lr=1e6)
    with pytest.raises(FloatingPointError, match=r"create the model again") as first:
        d2l.Trainer(max_epochs=3).fit(model, make_data())
    assert "LinearRegressionScratch(num_inputs=2, lr=1000000.0, sigma=0.01)" in str(
        first.value
    )
    model.lr = 0.03  # a smaller learning rate does not repair the weights
    with pytest.raises((FloatingPointError, ValueError), match=r"the model again"):
        d2l.Trainer(max_epochs=3).fit(model, make_data())


def test_weights_left_nan_are_named_before_training():
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    with torch.no_grad():
        model.b.fill_(math.nan)
    with pytest.raises(
        ValueError, match=r"parameters b hold nan or inf.*model = Linear"
    ):
        d2l.Trainer(max_epochs=1).fit(model, make_data(num_train=64))


def test_gpu_batches_are_not_waited_for_at_each_batch(monkeypatch):
    # On an accelerator, one look at the losses per LOSS_CHECK_EVERY batches: the bad
    # batch is still the one named.
    from d2lutil import training

    monkeypatch.setattr(training, "_looked_at_once", lambda loss: False)
    model = BadAt(7, math.inf)
    with pytest.raises(FloatingPointError, match=r"batch 7 of 100") as stopped:
        d2l.Trainer(max_epochs=1).fit(model, make_data(num_train=100, batch_size=1))
    assert model.seen == training.LOSS_CHECK_EVERY
    # the steps after the bad batch spoilt the weights, and the message says so
    assert "The model's parameters now hold nan or inf" in str(stopped.value)


# ------------------------------------------------------- utilities, bad input


def test_timer_average_before_any_lap_says_what_to_do():
    with pytest.raises(ValueError, match=r"no lap recorded yet; call stop\(\) first"):
        d2l.Timer().avg()


@pytest.mark.parametrize("bad", [-1, 1.5, "0", 2**32, True, None])
def test_seed_refuses_a_bad_seed_before_reseeding_anything(bad):
    state = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    with pytest.raises(
        ValueError, match=r"integer from 0 to 2\*\*32 - 1.*d2l\.seed\(0\)"
    ):
        d2l.seed(bad)
    assert random.getstate() == state[0]
    assert np.array_equal(np.random.get_state()[1], state[1])
    assert torch.equal(torch.get_rng_state(), state[2])


def test_seed_takes_the_largest_seed_all_three_accept():
    d2l.seed(2**32 - 1)
    d2l.seed(np.int64(7))


def test_apply_init_needs_a_list_of_inputs():
    with pytest.raises(TypeError, match=r"got a tensor; .* model\.apply_init\(\[X\]"):
        d2l.LinearRegression(lr=0.1).apply_init(torch.randn(4, 2))
    with pytest.raises(TypeError, match=r"got a dict \(\{'X': 1\}\)"):
        d2l.LinearRegression(lr=0.1).apply_init({"X": 1})


def test_plot_train_per_epoch_of_zero_is_refused():
    with pytest.raises(ValueError, match=r"plot_train_per_epoch must be positive"):
        d2l.Module(plot_train_per_epoch=0)
