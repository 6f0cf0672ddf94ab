"""Evaluation: how far an accuracy measured on a test set can be from the truth.

A test set of ``n`` examples drawn independently of the model gives an
accuracy that is itself a random estimate. ``accuracy_error_bar`` returns the
half-width of its usual (normal-approximation) confidence interval and
``hoeffding_error_bar`` the half-width that Hoeffding's inequality guarantees,
also for several models scored on one test set (Section 4.6).
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["accuracy_error_bar", "hoeffding_error_bar"]


def accuracy_error_bar(accuracy: float, n: int, confidence: float = 0.95) -> float:
    """Half-width of the normal-approximation confidence interval of an accuracy (Section 4.6).

    ``accuracy`` is a fraction measured on ``n`` test examples drawn
    independently of the model; ``accuracy`` plus or minus the returned value
    covers the true accuracy with probability about ``confidence``. The
    approximation is good when the test set holds at least about ten correct
    and ten wrong predictions; ``hoeffding_error_bar`` holds for every ``n``.
    """
    if not (0 <= accuracy <= 1 and n >= 1 and 0 < confidence < 1):
        raise ValueError(
            "accuracy_error_bar needs an accuracy between 0 and 1 (a fraction, not a "
            "percentage), n >= 1 test examples and 0 < confidence < 1; got "
            f"accuracy={accuracy}, n={n}, confidence={confidence}."
        )
    z = NormalDist().inv_cdf((1 + confidence) / 2)  # 1.96 for confidence 0.95
    return z * math.sqrt(accuracy * (1 - accuracy) / n)


def hoeffding_error_bar(n: int, confidence: float = 0.95, num_models: int = 1) -> float:
    """Half-width that Hoeffding's inequality guarantees for accuracies on ``n`` examples (Section 4.6).

    With probability at least ``confidence``, the test accuracies of all
    ``num_models`` models, fixed before the test set was drawn, lie within the
    returned distance of their true accuracies at once (a union bound over the
    models), whatever those accuracies are.
    """
    if not (n >= 1 and 0 < confidence < 1 and num_models >= 1):
        raise ValueError(
            "hoeffding_error_bar needs n >= 1 test examples, 0 < confidence < 1 and "
            f"num_models >= 1; got n={n}, confidence={confidence}, "
            f"num_models={num_models}."
        )
    return math.sqrt(math.log(2 * num_models / (1 - confidence)) / (2 * n))
