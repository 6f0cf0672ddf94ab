"""Section 5.5's additions to d2lutil.training: evaluate, EarlyStoppingTrainer and its checks.

The trainer is tested with scripted validation scores (a model whose monitored method returns
a given number in each epoch), so that patience, min_delta, mode and the restored weights can
be checked exactly, and on small real problems for the quantities the book uses.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import d2lutil as d2l

pytestmark = pytest.mark.usefixtures("quiet_board")  # tests/conftest.py


def regression_data(num_train=64, num_val=40, batch_size=16, seed=0):
    d2l.seed(seed)
    return d2l.SyntheticRegressionData(
        w=torch.tensor([1.0, -2.0]),
        b=0.5,
        num_train=num_train,
        num_val=num_val,
        batch_size=batch_size,
    )


class Scripted(d2l.Module):
    """A linear model whose validation quantity ``score`` is scripted, one value per epoch.

    It also keeps a copy of its parameters after every epoch's update (``snapshots``),
    taken when ``score`` is first called in that epoch, i.e. before the trainer's choice.
    """

    def __init__(self, scores, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Linear(2, 1)
        self.snapshots = {}

    def loss(self, y_hat, y):
        return ((y_hat - y) ** 2).mean() / 2

    def score(self, y_hat, y):
        epoch = self.trainer.epoch
        if epoch not in self.snapshots:
            self.snapshots[epoch] = copy.deepcopy(self.net.state_dict())
        return torch.tensor(float(self.scores[epoch]))


def fit_scripted(scores, **kwargs):
    model = Scripted(scores)
    kwargs.setdefault("max_epochs", len(scores))
    trainer = d2l.EarlyStoppingTrainer(monitor="val_score", **kwargs)
    trainer.fit(model, regression_data())
    return model, trainer


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ evaluate


class Blobs(d2l.DataModule):
    """Three clouds of 2-D points with a validation set of 45 (so the last batch is short)."""

    def __init__(self, batch_size=20, seed=0):
        super().__init__()
        self.save_hyperparameters()
        generator = torch.Generator().manual_seed(seed)
        labels = torch.arange(165) % 3
        centres = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
        self.X = centres[labels] + 1.2 * torch.randn(165, 2, generator=generator)
        self.y = labels

    def get_dataloader(self, train):
        rows = slice(0, 120) if train else slice(120, None)
        return self.get_tensorloader((self.X, self.y), train, rows)


def test_evaluate_is_the_mean_over_examples_not_over_batches():
    data = Blobs(batch_size=20)  # validation batches of 20, 20 and 5
    d2l.seed(0)
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.1)
    model.apply_init([data.X[:1]])
    X_val, y_val = data.X[120:], data.y[120:]
    with torch.no_grad():
        logits = model(X_val)
    loader = data.val_dataloader()
    assert [len(y) for _, y in loader] == [20, 20, 5]
    exact_loss = float(nn.functional.cross_entropy(logits, y_val))
    exact_acc = float((logits.argmax(1) == y_val).double().mean())
    assert d2l.evaluate(model, loader) == pytest.approx(exact_loss, rel=1e-6)
    assert d2l.evaluate(model, loader, "accuracy") == pytest.approx(exact_acc, abs=1e-7)
    batch_means = [float(model.accuracy(model(X), y)) for X, y in loader]
    assert np.mean(batch_means) != pytest.approx(
        exact_acc
    )  # the naive mean is wrong here


def test_evaluate_scores_in_eval_mode_and_restores_the_mode():
    d2l.seed(0)
    model = d2l.DropoutMLP(3, 16, 16, 0.5, 0.5, lr=0.1)
    data = Blobs()
    model.apply_init([data.X[:1]])
    model.train()
    first = d2l.evaluate(model, data.val_dataloader())
    assert model.training  # put back
    assert d2l.evaluate(model, data.val_dataloader()) == first  # no dropout noise
    model.eval()
    d2l.evaluate(model, data.val_dataloader())
    assert not model.training


def test_evaluate_rejects_an_unknown_metric_and_an_empty_loader():
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.1)
    model.apply_init([torch.zeros(1, 2)])
    with pytest.raises(ValueError, match="no method 'acc'.*metric='accuracy'"):
        d2l.evaluate(model, [], "acc")
    with pytest.raises(ValueError, match="holds no examples"):
        d2l.evaluate(model, [])


# ------------------------------------------------------- the trainer's checks


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"monitor": "loss"}, "monitor must name a validation quantity"),
        ({"monitor": "val_"}, "monitor must name"),
        ({"monitor": 3}, "monitor must name"),
        ({"mode": "maximum"}, "mode must be 'min'"),
        ({"patience": 0}, "patience must be a positive whole number"),
        ({"patience": 2.5}, "patience must be"),
        ({"patience": True}, "patience must be"),
        ({"min_delta": -0.1}, "min_delta must be a number of at least 0"),
        ({"min_delta": float("nan")}, "min_delta must be"),
        ({"min_delta": "0"}, "min_delta must be"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2l.EarlyStoppingTrainer(max_epochs=3, **kwargs)


def test_good_settings_are_saved_and_shown():
    trainer = d2l.EarlyStoppingTrainer(
        5, monitor="val_acc", mode="max", patience=np.int64(2), min_delta=0
    )
    assert (trainer.max_epochs, trainer.monitor, trainer.mode) == (5, "val_acc", "max")
    assert trainer.metric == "accuracy"
    assert d2l.EarlyStoppingTrainer(5, monitor="val_error_rate").metric == "error_rate"
    assert "EarlyStoppingTrainer(max_epochs=5" in repr(trainer)
    assert f"patience={np.int64(2)!r}" in repr(trainer)  # np.int64(2) from numpy 2
    with pytest.raises(ValueError, match="max_epochs must be positive"):
        d2l.EarlyStoppingTrainer(max_epochs=0)


# ------------------------------------------------------ stopping and restoring


def test_stops_after_patience_epochs_without_improvement():
    scores = [5.0, 3.0, 4.0, 3.5, 2.0, 1.0, 0.5]  # 2.0 comes too late
    model, trainer = fit_scripted(scores, patience=3)
    assert trainer.history == scores  # epoch 5 improves just in time
    assert (trainer.best_epoch, trainer.stopped_epoch) == (7, None)
    model, trainer = fit_scripted(scores, patience=2)
    assert trainer.history == [5.0, 3.0, 4.0, 3.5]
    assert (trainer.best_epoch, trainer.best_score) == (2, 3.0)
    assert trainer.stopped_epoch == 4
    assert trainer.train_batch_idx == 4 * trainer.num_train_batches  # no more updates
    assert same_state(model.net.state_dict(), model.snapshots[1])  # epoch 2's weights


def test_patience_none_trains_every_epoch_and_still_restores_the_best():
    scores = [4.0, 1.0, 2.0, 3.0, 5.0, 6.0]
    model, trainer = fit_scripted(scores, patience=None)
    assert trainer.history == scores
    assert trainer.stopped_epoch is None
    assert trainer.best_epoch == 2
    assert same_state(model.net.state_dict(), model.snapshots[1])
    assert not same_state(model.net.state_dict(), model.snapshots[5])


def test_restore_best_false_keeps_the_last_weights():
    scores = [4.0, 1.0, 2.0, 3.0]
    model, trainer = fit_scripted(scores, patience=2, restore_best=False)
    assert trainer.stopped_epoch == 4
    assert same_state(model.net.state_dict(), model.snapshots[3])


def test_mode_max_and_min_delta():
    # Scores that float32 holds exactly, as the model's score tensor does.
    scores = [0.5, 0.625, 0.6328125, 0.640625, 0.6171875, 0.75]
    _, trainer = fit_scripted(scores, mode="max", patience=3, min_delta=0.02)
    # epochs 3 and 4 beat 0.625 by less than 0.02: no improvement; 0.75 comes too late
    assert trainer.history == scores[:5]
    assert trainer.best_epoch == 2
    assert trainer.best_score == 0.625
    assert trainer.stopped_epoch == 5
    _, trainer = fit_scripted(scores, mode="max", patience=3)
    assert trainer.best_epoch == 6
    assert trainer.best_score == 0.75
    assert trainer.stopped_epoch is None


def test_an_improvement_of_exactly_min_delta_does_not_count():
    # Differences of 0.25 are exact in binary: better means by more than min_delta, so
    # neither the second score of each pair counts, in either mode.
    for scores, mode in (
        ([1.0, 0.75], "min"),
        ([1.0, 0.875], "min"),
        ([0.25, 0.5], "max"),
        ([0.25, 0.125], "max"),
    ):
        _, trainer = fit_scripted(scores, mode=mode, patience=None, min_delta=0.25)
        assert (trainer.best_epoch, trainer.best_score) == (1, scores[0]), scores
    _, trainer = fit_scripted([1.0, 0.5], patience=None, min_delta=0.25)
    assert trainer.best_epoch == 2


def test_defaults_and_the_settings_passed_to_trainer():
    trainer = d2l.EarlyStoppingTrainer(4)
    assert (trainer.monitor, trainer.mode, trainer.patience) == ("val_loss", "min", 3)
    assert (trainer.min_delta, trainer.restore_best) == (0, True)
    assert (trainer.num_gpus, trainer.gradient_clip_val) == (0, 0)
    trainer = d2l.EarlyStoppingTrainer(4, num_gpus=0, gradient_clip_val=1.5)
    assert (trainer.num_gpus, trainer.gradient_clip_val) == (0, 1.5)


def test_not_a_number_never_counts_as_an_improvement():
    nan = float("nan")
    model, trainer = fit_scripted([nan, 2.0, nan, nan], patience=2)
    assert trainer.best_epoch == 2
    assert trainer.stopped_epoch == 4
    assert same_state(model.net.state_dict(), model.snapshots[1])
    model, trainer = fit_scripted([nan, nan, nan], patience=None)
    assert trainer.best_epoch is None  # nothing to restore: the last weights stay
    assert same_state(model.net.state_dict(), model.snapshots[2])


def test_a_trainer_fits_twice_from_a_clean_slate():
    trainer = d2l.EarlyStoppingTrainer(max_epochs=4, monitor="val_score", patience=1)
    trainer.fit(Scripted([3.0, 4.0, 5.0, 6.0]), regression_data())
    assert (trainer.history, trainer.stopped_epoch) == ([3.0, 4.0], 2)
    model = Scripted([3.0, 2.0, 1.0, 0.5])
    trainer.fit(model, regression_data())
    assert trainer.history == [3.0, 2.0, 1.0, 0.5]
    assert (trainer.best_epoch, trainer.stopped_epoch) == (4, None)
    assert same_state(model.net.state_dict(), model.snapshots[3])


def test_validation_data_is_required():
    class TrainOnly(d2l.SyntheticRegressionData):
        def val_dataloader(self):
            return None

    d2l.seed(0)
    data = TrainOnly(torch.tensor([2.0, -3.4]), 4.2, num_train=32, batch_size=16)
    trainer = d2l.EarlyStoppingTrainer(max_epochs=2)
    with pytest.raises(ValueError, match="needs validation data"):
        trainer.fit(d2l.LinearRegressionScratch(2, lr=0.1), data)


def test_plain_tensor_parameters_of_scratch_models_are_restored():
    class ScratchWithHistory(d2l.LinearRegressionScratch):
        def fit_copies(self):
            return self.w.detach().clone(), self.b.detach().clone()

    data = regression_data(num_train=64, num_val=40)
    d2l.seed(0)
    model = ScratchWithHistory(2, lr=3.0)  # too large: the loss grows after a while
    copies = []

    class Recording(d2l.EarlyStoppingTrainer):
        def fit_epoch(self):
            super().fit_epoch()
            copies.append(self.model.fit_copies())

    trainer = Recording(max_epochs=6, patience=None)
    trainer.fit(model, data)
    best = trainer.best_epoch - 1
    assert trainer.history[best] == min(trainer.history)
    assert torch.equal(model.w, copies[best][0])
    assert torch.equal(model.b, copies[best][1])
    assert model.w.is_leaf
    assert model.w.requires_grad
    assert d2l.evaluate(model, data.val_dataloader()) == pytest.approx(
        min(trainer.history)
    )


def test_buffers_are_restored_too():
    class WithBatchNorm(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)
            )

    data = Blobs()
    d2l.seed(0)
    model = WithBatchNorm(lr=0.5)
    running = []

    class Recording(d2l.EarlyStoppingTrainer):
        def fit_epoch(self):
            super().fit_epoch()
            running.append(self.model.net[1].running_mean.clone())

    trainer = Recording(max_epochs=5, monitor="val_acc", mode="max", patience=None)
    trainer.fit(model, data)
    assert torch.equal(model.net[1].running_mean, running[trainer.best_epoch - 1])


def test_early_stopping_on_validation_accuracy_of_a_classifier():
    data = Blobs()
    d2l.seed(0)
    model = d2l.MLP(num_outputs=3, num_hiddens=16, lr=0.2)
    trainer = d2l.EarlyStoppingTrainer(
        max_epochs=30, monitor="val_acc", mode="max", patience=4
    )
    trainer.fit(model, data)
    assert trainer.stopped_epoch is not None
    assert trainer.stopped_epoch < 30
    assert trainer.best_score == max(trainer.history) > 0.8
    assert d2l.evaluate(model, data.val_dataloader(), "accuracy") == trainer.best_score
    assert model.board.data["val_acc"]  # the board still gets its validation points
