"""d2lutil.models: values and gradients checked against PyTorch's own layers and losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import d2lutil as d2l


@pytest.fixture(autouse=True)
def quiet_board(monkeypatch):
    monkeypatch.setenv("D2LUTIL_BOARD", "off")


# ------------------------------------------------------------- functions


def test_softmax_matches_torch_and_sums_to_one():
    torch.manual_seed(0)
    X = torch.randn(5, 7)
    P = d2l.softmax(X)
    torch.testing.assert_close(P, torch.softmax(X, dim=1))
    torch.testing.assert_close(P.sum(1), torch.ones(5))


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
    for fn in (model.accuracy, model.loss, d2l.cross_entropy):
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
