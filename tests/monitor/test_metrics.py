"""Precision, recall, expected cost and PSI against hand-made and analytic results."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from labkit.monitor.metrics import (
    PSI_FLOOR,
    Confusion,
    best_threshold_for_cost,
    confusion_matrix,
    expected_cost,
    precision_recall,
    psi,
    psi_from_counts,
)


def _labels(tp: int, fp: int, fn: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([1] * tp + [0] * fp + [1] * fn + [0] * tn)
    p = np.array([1] * tp + [1] * fp + [0] * fn + [0] * tn)
    return y, p


def test_confusion_and_precision_recall_from_a_hand_made_matrix() -> None:
    y, p = _labels(30, 10, 20, 940)
    cm = confusion_matrix(y, p)
    assert cm == Confusion(tp=30, fp=10, fn=20, tn=940)
    assert precision_recall(cm) == (0.75, 0.6)
    assert precision_recall(y, p) == (0.75, 0.6)
    assert cm.accuracy == pytest.approx(970 / 1000)
    assert cm.flag_rate == pytest.approx(40 / 1000)
    assert cm.cost(cost_fn=100, cost_fp=5) == 20 * 100 + 10 * 5
    assert cm.as_dict()["precision"] == 0.75


def test_precision_and_recall_are_nan_when_undefined() -> None:
    nothing_flagged = Confusion(tp=0, fp=0, fn=3, tn=7)
    assert np.isnan(nothing_flagged.precision) and nothing_flagged.recall == 0.0
    assert nothing_flagged.as_dict()["precision"] is None
    nothing_to_catch = Confusion(tp=0, fp=2, fn=0, tn=8)
    assert np.isnan(nothing_to_catch.recall)
    empty = Confusion(tp=0, fp=0, fn=0, tn=0)
    assert np.isnan(empty.accuracy) and np.isnan(empty.flag_rate)


def test_boolean_inputs_work_like_zero_one() -> None:
    assert confusion_matrix([True, False], [True, True]) == Confusion(tp=1, fp=1, fn=0, tn=0)


@pytest.mark.parametrize("args, message", [
    (([1, 2], [1, 0]), "y_true must hold only 0/1 (or True/False) values, got 2"),
    (([1, 0], [0.5, 0]), "y_pred must hold only 0/1 (or True/False) values, got 0.5"),
    (([[1, 0]], [1, 0]), "y_true must be a 1-d sequence of 0/1 values, got shape (1, 2)"),
    (([1, 0, 1], [1, 0]), "y_true and y_pred must have the same length, got 3 and 2"),
])
def test_confusion_matrix_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        confusion_matrix(*args)
    assert str(exc.value) == message


def test_precision_recall_errors() -> None:
    with pytest.raises(ValueError, match="give either a Confusion or y_true and y_pred, not"):
        precision_recall(Confusion(tp=1, fp=0, fn=0, tn=0), [1])
    with pytest.raises(ValueError, match="y_pred is required when y_true is not a Confusion"):
        precision_recall([1, 0])


def test_expected_cost_counts_each_mistake_at_its_price() -> None:
    y = [1, 1, 0, 0, 0]
    s = [0.9, 0.1, 0.8, 0.2, 0.05]
    # threshold 0.5: one missed fraud (0.1), one blocked good customer (0.8)
    assert expected_cost(y, s, 0.5, cost_fn=150, cost_fp=10) == pytest.approx((150 + 10) / 5)
    # flag everything: three false blocks; flag nothing: two misses
    assert expected_cost(y, s, 0.0, cost_fn=150, cost_fp=10) == pytest.approx(30 / 5)
    assert expected_cost(y, s, 1.01, cost_fn=150, cost_fp=10) == pytest.approx(300 / 5)


@pytest.mark.parametrize("seed", range(6))
def test_best_threshold_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(60), 2)            # ties on purpose
    y = rng.random(60) < s
    best = best_threshold_for_cost(y, s, cost_fn=7, cost_fp=2)
    candidates = np.concatenate((np.unique(s), [s.max() + 1]))
    costs = [expected_cost(y, s, t, cost_fn=7, cost_fp=2) for t in candidates]
    assert expected_cost(y, s, best, cost_fn=7, cost_fp=2) == pytest.approx(min(costs))


def test_best_threshold_flags_nothing_when_misses_are_free() -> None:
    s = np.array([0.2, 0.9, 0.5])
    best = best_threshold_for_cost([0, 1, 0], s, cost_fn=0, cost_fp=1)
    assert best > s.max()


def test_best_threshold_on_calibrated_scores_is_near_the_cost_ratio() -> None:
    """Bayes decision theory: flag when p >= c_fp / (c_fp + c_fn) for calibrated p.

    With 400k calibrated scores the empirical cost curve is flat near the
    optimum; the cost at the found threshold must be within 0.5% of the cost
    at the theoretical one, and the threshold itself within 0.02 of it.
    """
    rng = np.random.default_rng(11)
    p = rng.beta(0.6, 8.0, size=400_000)
    y = rng.random(p.size) < p
    theory = 10 / (10 + 150)
    best = best_threshold_for_cost(y, p, cost_fn=150, cost_fp=10)
    assert abs(best - theory) < 0.02
    c_best = expected_cost(y, p, best, cost_fn=150, cost_fp=10)
    c_theory = expected_cost(y, p, theory, cost_fn=150, cost_fp=10)
    assert c_best <= c_theory
    assert c_theory <= c_best * 1.005


@pytest.mark.parametrize("kwargs, message", [
    ({"cost_fn": -1, "cost_fp": 1}, "cost_fn must be a finite number >= 0, got -1"),
    ({"cost_fn": 1, "cost_fp": float("inf")}, "cost_fp must be a finite number >= 0, got inf"),
])
def test_cost_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        best_threshold_for_cost([0, 1], [0.1, 0.9], **kwargs)
    assert str(exc.value) == message
    with pytest.raises(ValueError) as exc:
        expected_cost([0, 1], [0.1, 0.9], 0.5, **kwargs)
    assert str(exc.value) == message


def test_score_errors() -> None:
    with pytest.raises(ValueError, match=r"^y_true and scores must have the same length, got 2 "
                                         r"and 1$"):
        expected_cost([0, 1], [0.1], 0.5, cost_fn=1, cost_fp=1)
    with pytest.raises(ValueError, match="^y_true and scores must not be empty$"):
        best_threshold_for_cost([], [], cost_fn=1, cost_fp=1)
    with pytest.raises(ValueError, match="^scores must not contain NaN$"):
        best_threshold_for_cost([0, 1], [0.1, float("nan")], cost_fn=1, cost_fp=1)


def test_psi_of_identical_samples_is_zero() -> None:
    x = np.random.default_rng(1).normal(size=5000)
    assert psi(x, x) == 0.0
    assert psi(x, x, bins=[-1.0, 0.0, 1.0]) == 0.0
    assert psi_from_counts([5, 3, 2], [50, 30, 20]) == pytest.approx(0.0, abs=1e-15)


def _psi_normal_shift(mu: float, bins: int) -> float:
    """PSI of N(mu, 1) against N(0, 1) over the reference's population deciles."""
    nd = NormalDist()
    q = [-np.inf] + [nd.inv_cdf(i / bins) for i in range(1, bins)] + [np.inf]
    e = np.full(bins, 1 / bins)
    a = np.array([nd.cdf(q[i + 1] - mu) - nd.cdf(q[i] - mu) for i in range(bins)])
    return float(np.sum((a - e) * np.log(a / e)))


@pytest.mark.parametrize("mu", [0.25, 0.5, 1.0])
def test_psi_of_a_shifted_normal_matches_the_analytic_value(mu: float) -> None:
    """Sample PSI with 10 quantile bins against the exact binned value.

    With 300k points per sample the sampling bias ((bins-1)(1/n+1/m) ~ 6e-5)
    and noise are far below the 6% relative tolerance (and 0.002 absolute).
    """
    rng = np.random.default_rng(int(mu * 100))
    ref = rng.normal(size=300_000)
    now = rng.normal(mu, 1.0, size=300_000)
    exact = _psi_normal_shift(mu, 10)
    assert psi(ref, now, bins=10) == pytest.approx(exact, rel=0.06, abs=0.002)


def test_psi_grows_with_the_shift_and_crosses_the_rules_of_thumb() -> None:
    assert _psi_normal_shift(0.25, 10) < 0.1 < _psi_normal_shift(0.5, 10) < 0.25
    assert _psi_normal_shift(1.0, 10) > 0.25


def test_psi_floors_empty_bins() -> None:
    # every actual value lands in the first of two bins
    value = psi_from_counts([50, 50], [100, 0])
    a, e = np.array([1.0, PSI_FLOOR]), np.array([0.5, 0.5])
    assert value == pytest.approx(float(np.sum((a - e) * np.log(a / e))))


def test_psi_from_counts_row_wise() -> None:
    out = psi_from_counts([1, 1], [[1, 1], [3, 1]])
    assert out.shape == (2,)
    assert out[0] == 0.0 and out[1] > 0


@pytest.mark.parametrize("args, message", [
    (([[1, 2]], [1, 2]), "expected must be 1-d bin counts, got shape (1, 2)"),
    (([1, 2], [1, 2, 3]), "expected and actual must have the same number of bins, got 2 and 3"),
    (([1, -2], [1, 2]), "bin counts must be >= 0"),
    (([0, 0], [1, 2]), "expected counts must not all be zero"),
])
def test_psi_from_counts_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        psi_from_counts(*args)
    assert str(exc.value) == message


@pytest.mark.parametrize("expected, actual, bins, message", [
    ([], [1.0], 10, "expected sample must not be empty"),
    ([1.0], [], 10, "actual sample must not be empty"),
    ([1.0, float("nan")], [1.0], 10, "expected sample must not contain NaN (bin missing values "
                                     "yourself and use psi_from_counts)"),
    ([1.0, 2.0], [1.0], 1, "bins must be >= 2, got 1"),
    ([1.0, 2.0], [1.0], [2.0, 1.0], "bins must be an int or a non-empty increasing sequence of "
                                    "edges"),
])
def test_psi_errors(expected: list, actual: list, bins: object, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        psi(expected, actual, bins=bins)
    assert str(exc.value) == message
