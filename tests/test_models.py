"""d2lutil.models: values and gradients checked against PyTorch's own layers and losses."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


# ------------------------------------------------------------- functions


def test_softmax_matches_torch_and_sums_to_one():
    torch.manual_seed(0)
    X = torch.randn(5, 7)
    P = d2l.softmax(X)
    torch.testing.assert_close(P, torch.softmax(X, dim=1))
    torch.testing.assert_close(P.sum(1), torch.ones(5))


def test_softmax_normalises_the_last_dimension_of_any_tensor():
    # Sequence-shaped scores (T, B, q): each length-q vector becomes probabilities.
    torch.manual_seed(0)
    X = torch.randn(2, 3, 4)
    torch.testing.assert_close(d2l.softmax(X), torch.softmax(X, dim=-1))


def test_softmax_is_numerically_stable():
    X = torch.tensor([[1000.0, 1000.0, -1000.0], [-1e4, -1e4 + 1, -1e4]])
    P = d2l.softmax(X)
    assert torch.isfinite(P).all()
    torch.testing.assert_close(P, torch.softmax(X, dim=1))
    torch.testing.assert_close(P[0], torch.tensor([0.5, 0.5, 0.0]))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-80, 80, allow_nan=False, width=32), min_size=2, max_size=6).map(
        lambda v: torch.tensor([v])
    )
)
def test_softmax_gradient_matches_autograd_of_torch_softmax(X):
    weights = torch.arange(X.shape[1], dtype=torch.float32)
    a = X.clone().requires_grad_()
    b = X.clone().requires_grad_()
    (d2l.softmax(a) * weights).sum().backward()
    (torch.softmax(b, dim=1) * weights).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4)


def test_cross_entropy_matches_nll_of_log_probabilities():
    torch.manual_seed(1)
    P = torch.softmax(torch.randn(6, 4), dim=1)
    y = torch.tensor([0, 3, 1, 1, 2, 0])
    torch.testing.assert_close(d2l.cross_entropy(P, y), F.nll_loss(P.log(), y))
    # a hand-made case: -(log 0.5 + log 0.25) / 2
    P = torch.tensor([[0.5, 0.5], [0.75, 0.25]])
    expected = -(torch.log(torch.tensor(0.5)) + torch.log(torch.tensor(0.25))) / 2
    torch.testing.assert_close(d2l.cross_entropy(P, torch.tensor([0, 1])), expected)


def test_cross_entropy_gradient_against_finite_differences():
    torch.manual_seed(2)
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1, 0, 3])
    assert torch.autograd.gradcheck(
        lambda z: d2l.cross_entropy(d2l.softmax(z), y), (logits,)
    )


def test_relu_matches_torch_and_its_gradient():
    X = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], requires_grad=True)
    out = d2l.relu(X)
    torch.testing.assert_close(out, torch.relu(X))
    out.sum().backward()
    # At the kink the gradient is 0, the convention of torch.relu.
    torch.testing.assert_close(X.grad, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
def test_relu_keeps_the_dtype(dtype):
    X = torch.tensor([[-3, 0], [2, 5]], dtype=dtype)
    out = d2l.relu(X)
    assert out.dtype == dtype
    assert torch.equal(out, torch.tensor([[0, 0], [2, 5]], dtype=dtype))


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (torch.tensor([0, 3]), r"between 0 and 2 .*3 outputs.*from 0 to 3"),
        (torch.tensor([-1, 1]), r"from -1 to 1"),
        (torch.tensor([0.0, 1.5]), r"whole numbers"),
        (torch.tensor([True, False]), r"class indices, got a torch.bool"),
    ],
)
def test_labels_outside_the_class_range_are_rejected(labels, match):
    P = torch.full((2, 3), 1 / 3)
    model = d2l.Classifier()
    for fn in (
        lambda: d2l.cross_entropy(P, labels),
        lambda: model.loss(P, labels),
        lambda: model.accuracy(P, labels),
    ):
        with pytest.raises((ValueError, TypeError), match=match):
            fn()


# ------------------------------------------------------------- Classifier


def test_accuracy_on_hand_made_cases():
    model = d2l.Classifier()
    Y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    Y = torch.tensor([1, 0, 0, 0])
    assert model.accuracy(Y_hat, Y).item() == 0.75
    assert model.accuracy(Y_hat, Y, averaged=False).tolist() == [1.0, 1.0, 0.0, 1.0]
    assert model.accuracy(Y_hat, torch.tensor([0, 1, 0, 1])).item() == 0.0
    # extra leading dimensions are flattened
    assert model.accuracy(Y_hat.reshape(2, 2, 2), Y.reshape(2, 2)).item() == 0.75
    per_example = model.accuracy(Y_hat.reshape(2, 2, 2), Y.reshape(2, 2), False)
    assert per_example.tolist() == [1.0, 1.0, 0.0, 1.0]
    # labels as a column or of another integer type give the same answer
    assert model.accuracy(Y_hat, Y.reshape(4, 1)).item() == 0.75
    assert model.accuracy(Y_hat, Y.int()).item() == 0.75
    assert model.accuracy(Y_hat, Y).dtype == torch.float32


def test_classifier_loss_is_torch_cross_entropy():
    torch.manual_seed(3)
    logits, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    model = d2l.Classifier()
    torch.testing.assert_close(model.loss(logits, y), F.cross_entropy(logits, y))
    torch.testing.assert_close(
        model.loss(logits, y, averaged=False),
        F.cross_entropy(logits, y, reduction="none"),
    )
    # extra leading dimensions are flattened: one loss per label
    per_label = model.loss(logits[:4].reshape(2, 2, 4), y[:4].reshape(2, 2), False)
    torch.testing.assert_close(
        per_label, F.cross_entropy(logits[:4], y[:4], reduction="none")
    )


# ------------------------------------------------------------------ models


def test_linear_regression_scratch_forward_and_loss():
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    with torch.no_grad():
        model.w.copy_(torch.tensor([[2.0], [-1.0]]))
        model.b.fill_(0.5)
    X = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    torch.testing.assert_close(model(X), torch.tensor([[1.5], [-1.5]]))
    loss = model.loss(model(X), torch.tensor([[1.0], [0.5]]))
    torch.testing.assert_close(loss, torch.tensor((0.5**2 / 2 + 2.0**2 / 2) / 2))
    assert isinstance(model.configure_optimizers(), d2l.SGD)
    assert {id(p) for p in model.parameters()} == {id(model.w), id(model.b)}


def test_linear_regression_concise_is_nn_linear_with_mse():
    model = d2l.LinearRegression(lr=0.1)
    X, y = torch.randn(4, 3), torch.randn(4, 1)
    y_hat = model(X)
    w, b = model.get_w_b()
    torch.testing.assert_close(y_hat, X @ w.T + b)
    torch.testing.assert_close(model.loss(y_hat, y), F.mse_loss(y_hat, y))
    opt = model.configure_optimizers()
    assert isinstance(opt, torch.optim.SGD)
    assert opt.defaults["lr"] == 0.1


def test_softmax_regression_scratch_equals_a_linear_layer_with_softmax():
    torch.manual_seed(4)
    model = d2l.SoftmaxRegressionScratch(num_inputs=12, num_outputs=3, lr=0.1)
    X = torch.randn(5, 1, 3, 4)
    expected = torch.softmax(X.reshape(5, 12) @ model.W + model.b, dim=1)
    torch.testing.assert_close(model(X), expected)
    # parameters() yields W and b (the optimizer needs them; they are plain tensors)
    assert [id(p) for p in model.parameters()] == [id(model.W), id(model.b)]
    y = torch.tensor([0, 1, 2, 0, 1])
    torch.testing.assert_close(
        model.loss(model(X), y),
        F.cross_entropy(X.reshape(5, 12) @ model.W + model.b, y),
    )


def test_softmax_regression_concise_shapes():
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)
    assert model.net[1].weight.shape == (10, 784)


def test_mlp_scratch_equals_the_formula():
    torch.manual_seed(5)
    model = d2l.MLPScratch(num_inputs=6, num_outputs=3, num_hiddens=4, lr=0.1)
    with torch.no_grad():  # biases that are not zero, so that their sign matters
        model.b1.copy_(torch.tensor([0.5, -0.5, 1.0, 0.02]))
        model.b2.copy_(torch.tensor([1.0, -2.0, 0.3]))
    X = torch.randn(2, 1, 2, 3)
    H = torch.relu(X.reshape(2, 6) @ model.W1 + model.b1)
    torch.testing.assert_close(model(X), H @ model.W2 + model.b2)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["W1", "b1", "W2", "b2"]


def test_mlp_scratch_draws_the_weights_with_randn_times_sigma():
    torch.manual_seed(3)
    model = d2l.MLPScratch(
        num_inputs=5, num_outputs=2, num_hiddens=4, lr=0.1, sigma=0.5
    )
    torch.manual_seed(3)
    torch.testing.assert_close(model.W1, torch.randn(5, 4) * 0.5, rtol=0, atol=0)
    torch.testing.assert_close(model.W2, torch.randn(4, 2) * 0.5, rtol=0, atol=0)
    assert torch.equal(model.b1, torch.zeros(4))
    assert torch.equal(model.b2, torch.zeros(2))


def test_scratch_models_draw_their_weights_with_sigma_0_01_by_default():
    torch.manual_seed(3)
    mlp = d2l.MLPScratch(num_inputs=5, num_outputs=2, num_hiddens=4, lr=0.1)
    torch.manual_seed(3)
    torch.testing.assert_close(mlp.W1, torch.randn(5, 4) * 0.01, rtol=0, atol=0)
    torch.manual_seed(3)
    softmax = d2l.SoftmaxRegressionScratch(num_inputs=5, num_outputs=2, lr=0.1)
    torch.manual_seed(3)
    torch.testing.assert_close(
        softmax.W, torch.normal(0.0, 0.01, (5, 2)), rtol=0, atol=0
    )
    assert torch.equal(softmax.b, torch.zeros(2))


def test_mlp_concise_matches_scratch_with_the_same_weights():
    torch.manual_seed(6)
    scratch = d2l.MLPScratch(num_inputs=6, num_outputs=3, num_hiddens=4, lr=0.1)
    concise = d2l.MLP(num_outputs=3, num_hiddens=4, lr=0.1)
    X = torch.randn(5, 1, 2, 3)
    concise(X)  # the lazy layers take their shapes
    assert concise.net[1] is concise.net.hidden
    assert concise.net[3] is concise.net.output
    with torch.no_grad():
        concise.net.hidden.weight.copy_(scratch.W1.T)
        concise.net.hidden.bias.copy_(scratch.b1)
        concise.net.output.weight.copy_(scratch.W2.T)
        concise.net.output.bias.copy_(scratch.b2)
    torch.testing.assert_close(concise(X), scratch(X))


def test_scratch_gradients_match_the_concise_model():
    torch.manual_seed(7)
    scratch = d2l.SoftmaxRegressionScratch(num_inputs=6, num_outputs=3, lr=0.1)
    concise = d2l.SoftmaxRegression(num_outputs=3, lr=0.1)
    X, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    concise(X)
    with torch.no_grad():
        concise.net[1].weight.copy_(scratch.W.T)
        concise.net[1].bias.copy_(scratch.b)
    scratch.loss(scratch(X), y).backward()
    concise.loss(concise(X), y).backward()
    torch.testing.assert_close(scratch.W.grad, concise.net[1].weight.grad.T)
    torch.testing.assert_close(scratch.b.grad, concise.net[1].bias.grad)


def test_softmax_scratch_trains_on_a_separable_problem():
    d2l.seed(0)
    X = torch.randn(400, 2)
    y = (X[:, 0] > 0).long()

    class Data(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 50

        def get_dataloader(self, train):
            return self.get_tensorloader((X, y), train)

    model = d2l.SoftmaxRegressionScratch(num_inputs=2, num_outputs=2, lr=0.5)
    d2l.Trainer(max_epochs=5).fit(model, Data())
    assert model.accuracy(model(X), y).item() > 0.95
    assert model.board.data["val_acc"][-1][1] > 0.95


def test_float_labels_that_are_whole_numbers_work_as_in_the_book():
    Y_hat = torch.tensor([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]])
    model = d2l.Classifier()
    for Y in (torch.tensor([1, 2, 2]), torch.tensor([1.0, 2.0, 2.0])):
        torch.testing.assert_close(model.accuracy(Y_hat, Y), torch.tensor(2 / 3))
        torch.testing.assert_close(
            model.loss(Y_hat, Y), F.cross_entropy(Y_hat, torch.tensor([1, 2, 2]))
        )
        torch.testing.assert_close(
            d2l.cross_entropy(Y_hat, Y), -Y_hat[[0, 1, 2], [1, 2, 2]].log().mean()
        )


@pytest.mark.parametrize(
    ("y_hat_shape", "y_shape", "match"),
    [
        ((4, 10), (1,), r"per label, got predictions \(4, 10\), labels \(1,\)"),
        ((4, 10), (2,), r"per label, got predictions \(4, 10\), labels \(2,\)"),
        ((4, 10), (8,), r"per label, got predictions \(4, 10\), labels \(8,\)"),
        ((10,), (1,), r"one row of class scores per label, got predictions \(10,\)"),
    ],
)
def test_predictions_and_labels_must_agree_in_count(y_hat_shape, y_shape, match):
    Y_hat = torch.rand(y_hat_shape).softmax(dim=-1)
    Y = torch.zeros(y_shape, dtype=torch.int64)
    model = d2l.Classifier()
    calls = [model.accuracy, model.loss]
    if len(y_hat_shape) == 2:  # cross_entropy says first that it takes a matrix
        calls.append(d2l.cross_entropy)
    for fn in calls:
        with pytest.raises(ValueError, match=match):
            fn(Y_hat, Y)


def test_extra_leading_dimensions_still_work():
    Y_hat = torch.rand(2, 3, 5)  # e.g. 2 sequences of 3 steps, 5 classes
    Y = Y_hat.argmax(dim=-1)
    assert d2l.Classifier().accuracy(Y_hat, Y) == 1.0


def test_label_range_on_an_accelerator_is_looked_at_every_n_calls(monkeypatch):
    # Reading label values on a GPU waits for it: only every LABEL_CHECK_EVERY-th call looks.
    from d2lutil import models

    looks = []

    class FakeGPULabels(torch.Tensor):
        @property
        def device(self):
            return torch.device("cuda")

        def min(self, *args, **kwargs):
            looks.append(1)
            return super().min(*args, **kwargs)

    monkeypatch.setitem(models._label_calls, "n", 0)
    y = torch.tensor([0, 1]).as_subclass(FakeGPULabels)
    for _ in range(2 * models.LABEL_CHECK_EVERY):
        models.check_labels(y, torch.rand(2, 3))
    assert len(looks) == 2


# ---------------------------------------------- bad input: regression shapes


def _regression(forward):
    class Student(d2l.LinearRegressionScratch):
        pass

    Student.forward = forward
    return Student(2, lr=0.1)


@pytest.mark.parametrize(
    ("forward", "shapes"),
    [
        (lambda self, X: (X @ self.w + self.b).reshape(-1), r"\(32,\) .* \(32, 1\)"),
        (lambda self, X: X @ self.w.repeat(1, 3) + self.b, r"\(32, 3\) .* \(32, 1\)"),
    ],
)
def test_regression_predictions_must_have_the_shape_of_the_targets(forward, shapes):
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(torch.tensor([2.0, -3.4]), 4.2)
    model = _regression(forward)
    with pytest.raises(ValueError, match=shapes):
        d2l.Trainer(max_epochs=1).fit(model, data)


def test_flat_targets_against_a_column_name_the_broadcast():
    y_hat, y = torch.zeros(5, 1), torch.ones(5)
    for model in (d2l.LinearRegressionScratch(2, lr=0.1), d2l.LinearRegression(lr=0.1)):
        with pytest.raises(ValueError, match=r"broadcast to \(5, 5\).*e\.g\. targets"):
            model.loss(y_hat, y)
    with pytest.raises(ValueError, match=r"an empty batch"):
        d2l.check_targets(torch.zeros(0, 1), torch.zeros(0, 1))
    with pytest.raises(TypeError, match=r"targets must be a tensor, got list"):
        d2l.check_targets([1.0], torch.zeros(1))
    same = torch.ones(5, 1)
    assert d2l.check_targets(same, torch.zeros(5, 1)) is same


# ------------------------------------------ bad input: labels and predictions


@pytest.mark.parametrize("labels", [[1, 0, 2, 1], np.array([1, 0, 2, 1]), range(1, 2)])
def test_labels_as_a_list_or_an_array_are_accepted(labels):
    Y_hat = torch.tensor(
        [[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]]
    )
    if isinstance(labels, range):  # one label for one row
        Y_hat = Y_hat[:1]
    expected = 1.0 if isinstance(labels, range) else 0.75
    assert d2l.Classifier().accuracy(Y_hat, labels).item() == expected


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (torch.tensor([1.0, math.inf]), ValueError, r"labels hold nan or inf"),
        (torch.tensor([1.0, math.nan]), ValueError, r"labels hold nan or inf"),
        (torch.tensor([[0, 1, 0], [1, 0, 0]]), ValueError, r"one-hot.*y\.argmax"),
        (torch.tensor([1.0, 0.5]), TypeError, r"fractions such as 0\.5"),
        ("labels", TypeError, r"labels must be class indices in a tensor, got str"),
    ],
)
def test_bad_labels_are_named(labels, error, match):
    Y_hat = torch.tensor([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]])
    for fn in (d2l.Classifier().accuracy, d2l.Classifier().loss, d2l.cross_entropy):
        with pytest.raises(error, match=match):
            fn(Y_hat, labels)


@pytest.mark.parametrize(
    "fn", [d2l.Classifier().accuracy, d2l.Classifier().loss, d2l.cross_entropy]
)
def test_an_empty_batch_is_an_error_not_nan(fn):
    with pytest.raises(ValueError, match=r"an empty batch: predictions \(0, 3\)"):
        fn(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))


def test_predictions_that_are_not_numbers_are_refused():
    Y_hat = torch.tensor([[0.1, 0.9], [math.nan, 0.2], [0.5, math.inf]])
    with pytest.raises(FloatingPointError, match=r"nan or inf in 2 of 3 rows"):
        d2l.Classifier().accuracy(Y_hat, torch.tensor([1, 0, 0]))


def test_sequence_predictions_with_transposed_labels_are_refused():
    Y_hat = torch.randn(3, 2, 4)  # (steps, batch, classes)
    labels = Y_hat.argmax(dim=-1)
    assert d2l.Classifier().accuracy(Y_hat, labels) == 1.0
    assert d2l.Classifier().accuracy(Y_hat, labels.reshape(-1)) == 1.0  # flattened
    with pytest.raises(
        ValueError, match=r"labels look transposed, e\.g\. y\.T, of shape"
    ):
        d2l.Classifier().accuracy(Y_hat, labels.T)


def test_integer_scores_are_fine_for_accuracy_as_in_d2l():
    scores = torch.tensor([[2, 0, 1], [0, 3, 1]])
    assert d2l.Classifier().accuracy(scores, torch.tensor([0, 1])).item() == 1.0


def test_cross_entropy_refuses_raw_scores_and_sequences():
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 1.2, -2.0]])
    with pytest.raises(ValueError, match=r"values from -2 to 2.*apply softmax first"):
        d2l.cross_entropy(logits, torch.tensor([0, 1]))
    probs = torch.softmax(torch.randn(2, 3, 4), dim=-1)
    with pytest.raises(ValueError, match=r"a matrix .* shape \(2, 3, 4\).*reshape\(-1"):
        d2l.cross_entropy(probs, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"float tensor, got a torch.int64 tensor"):
        d2l.cross_entropy(torch.tensor([[1, 0]]), torch.tensor([0]))


def test_probabilities_of_exactly_0_and_1_are_probabilities():
    certain = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert d2l.cross_entropy(certain, torch.tensor([0, 1])).item() == 0.0
    with pytest.raises(ValueError, match=r"values from 0 to 1\.5, which look like"):
        d2l.cross_entropy(torch.tensor([[1.5, 0.0]]), torch.tensor([0]))


def test_probabilities_on_an_accelerator_are_looked_at_every_n_calls(monkeypatch):
    from d2lutil import models

    looks = []

    class FakeGPU(torch.Tensor):
        @property
        def device(self):
            return torch.device("cuda")

        def min(self, *args, **kwargs):
            looks.append(1)
            return super().min(*args, **kwargs)

    monkeypatch.setitem(models._probability_calls, "n", 0)
    probs = torch.full((2, 3), 1 / 3).as_subclass(FakeGPU)
    for _ in range(2 * models.LABEL_CHECK_EVERY):
        models.check_probabilities(probs)
    assert len(looks) == 2


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: d2l.MLPScratch(2, 3, num_hiddens=0, lr=0.1),
            "num_hiddens must be pos",
        ),
        (
            lambda: d2l.SoftmaxRegression(num_outputs=0, lr=0.1),
            "num_outputs must be pos",
        ),
        (lambda: d2l.SoftmaxRegressionScratch(4, 0, lr=0.1), "num_outputs must be pos"),
        (lambda: d2l.LinearRegressionScratch(2.0, lr=0.1), "num_inputs must be an int"),
        (lambda: d2l.MLP(10, 16.0, lr=0.1), "num_hiddens must be an int"),
    ],
)
def test_models_refuse_impossible_sizes(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_the_checks_read_values_without_a_warning_about_gradients():
    logits = torch.randn(4, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # torch 2.0-2.3 announce every lazy layer (d2lutil ignores exactly that notice,
        # which simplefilter("error") overrides): not a warning about gradients.
        warnings.filterwarnings("ignore", message="Lazy modules are a new feature")
        d2l.cross_entropy(d2l.softmax(logits), torch.tensor([0, 1, 2, 0])).backward()
        d2l.Classifier().accuracy(logits, torch.tensor([0, 1, 2, 0]))
        metric = d2l.Accumulator(1)
        metric.add((logits**2).sum())
        with pytest.raises(FloatingPointError, match="became inf"):
            d2l.Trainer(max_epochs=1).fit(
                InfLoss(lr=0.1),
                d2l.SyntheticRegressionData(torch.tensor([1.0]), 0.0, num_train=32),
            )


class InfLoss(d2l.LinearRegression):
    def loss(self, y_hat, y):
        return super().loss(y_hat, y) * math.inf
