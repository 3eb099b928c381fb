"""Evaluation metrics: confusion matrix, precision, recall, cost, PSI.

A fraud model *flags* a transaction when its score is at or above the
decision threshold.  Against the true labels every decision lands in one
cell of the confusion matrix: a flagged fraud is a true positive (TP), a
flagged legitimate transaction a false positive (FP), a missed fraud a false
negative (FN) and a passed legitimate one a true negative (TN).

* **Precision** = TP / (TP + FP): of what we flagged, how much was fraud.
* **Recall** = TP / (TP + FN): of the fraud that was there, how much we caught.

Mistakes do not cost the same: a missed fraud (a chargeback) can cost fifteen
times a blocked good customer.  So the threshold to use is the one with the
lowest *expected cost*, not the best accuracy; for calibrated scores it sits
near ``cost_fp / (cost_fp + cost_fn)``.

The **population stability index** compares a distribution now (actual
shares ``a``) with a reference (expected shares ``e``) over the same bins:
``PSI = sum((a - e) * ln(a / e))``.  Rules of thumb: below 0.1 stable,
0.1-0.25 a moderate shift, above 0.25 a large one.

>>> cm = confusion_matrix([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
>>> cm
Confusion(tp=2, fp=1, fn=1, tn=1)
>>> precision_recall(cm)
(0.6666666666666666, 0.6666666666666666)
>>> round(psi([1, 2, 3, 4] * 50, [1, 2, 3, 4] * 50, bins=4), 12)
0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import MonitorError

__all__ = ["Confusion", "confusion_matrix", "precision_recall", "expected_cost",
           "best_threshold_for_cost", "psi", "psi_from_counts", "PSI_FLOOR"]

#: Shares below this are floored before PSI's logarithm, so an empty bin gives a
#: large but finite contribution (the usual practical convention).
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class Confusion:
    """Counts of the four outcomes of a yes/no decision against the truth."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        """TP / (TP + FP); ``nan`` when nothing was flagged."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else float("nan")

    @property
    def recall(self) -> float:
        """TP / (TP + FN); ``nan`` when there was nothing to catch."""
        positives = self.tp + self.fn
        return self.tp / positives if positives else float("nan")

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.total if self.total else float("nan")

    @property
    def flag_rate(self) -> float:
        return (self.tp + self.fp) / self.total if self.total else float("nan")

    def cost(self, *, cost_fn: float, cost_fp: float) -> float:
        """Total cost of the mistakes: FN x cost_fn + FP x cost_fp."""
        return self.fn * cost_fn + self.fp * cost_fp

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": _none_if_nan(self.precision), "recall": _none_if_nan(self.recall)}


def _none_if_nan(x: float) -> float | None:
    return None if x != x else x


def _binary(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise MonitorError(f"{name} must be a 1-d sequence of 0/1 values, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.size and not np.isin(arr, (0, 1)).all():
            bad = arr[~np.isin(arr, (0, 1))][0].item()
            raise MonitorError(f"{name} must hold only 0/1 (or True/False) values, got {bad!r}")
        arr = arr.astype(bool)
    return arr


def confusion_matrix(y_true: Sequence[Any] | np.ndarray,
                     y_pred: Sequence[Any] | np.ndarray) -> Confusion:
    """Count TP, FP, FN and TN of predictions ``y_pred`` against labels ``y_true``."""
    truth, pred = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if truth.shape != pred.shape:
        raise MonitorError(f"y_true and y_pred must have the same length, got {truth.size} "
                         f"and {pred.size}")
    return Confusion(tp=int(np.sum(truth & pred)), fp=int(np.sum(~truth & pred)),
                     fn=int(np.sum(truth & ~pred)), tn=int(np.sum(~truth & ~pred)))


def precision_recall(y_true: Confusion | Sequence[Any] | np.ndarray,
                     y_pred: Sequence[Any] | np.ndarray | None = None) -> tuple[float, float]:
    """``(precision, recall)`` from a :class:`Confusion` or from labels and predictions.

    >>> precision_recall(Confusion(tp=30, fp=10, fn=20, tn=940))
    (0.75, 0.6)
    """
    if isinstance(y_true, Confusion):
        if y_pred is not None:
            raise MonitorError("give either a Confusion or y_true and y_pred, not both")
        cm = y_true
    else:
        if y_pred is None:
            raise MonitorError("y_pred is required when y_true is not a Confusion")
        cm = confusion_matrix(y_true, y_pred)
    return cm.precision, cm.recall


def _scores_labels(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = _binary(y_true, "y_true")
    s = np.asarray(scores, dtype=float)
    if s.shape != truth.shape:
        raise MonitorError(f"y_true and scores must have the same length, got {truth.size} "
                         f"and {s.size}")
    if s.size == 0:
        raise MonitorError("y_true and scores must not be empty")
    if np.isnan(s).any():
        raise MonitorError("scores must not contain NaN")
    return truth, s


def _check_costs(cost_fn: float, cost_fp: float) -> None:
    for name, value in (("cost_fn", cost_fn), ("cost_fp", cost_fp)):
        if not np.isfinite(value) or value < 0:
            raise MonitorError(f"{name} must be a finite number >= 0, got {value!r}")


def expected_cost(y_true: Any, scores: Any, threshold: float, *, cost_fn: float,
                  cost_fp: float) -> float:
    """Mean cost per transaction of flagging every score >= ``threshold``.

    >>> expected_cost([1, 0, 0, 1], [0.9, 0.8, 0.1, 0.2], 0.5, cost_fn=100, cost_fp=10)
    27.5
    """
    truth, s = _scores_labels(y_true, scores)
    _check_costs(cost_fn, cost_fp)
    flagged = s >= threshold
    fn = np.sum(truth & ~flagged)
    fp = np.sum(~truth & flagged)
    return float((fn * cost_fn + fp * cost_fp) / truth.size)


def best_threshold_for_cost(y_true: Any, scores: Any, *, cost_fn: float,
                            cost_fp: float) -> float:
    """The threshold with the lowest expected cost on these labelled scores.

    Every distinct score is tried as a cut (plus "flag nothing"); ties are
    broken towards the higher threshold, which flags fewer transactions.

    >>> best_threshold_for_cost([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], cost_fn=10, cost_fp=1)
    0.35
    """
    truth, s = _scores_labels(y_true, scores)
    _check_costs(cost_fn, cost_fp)
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], truth[order]
    # Flag the top k for k = 0..n; only cut between distinct scores.
    tp = np.concatenate(([0], np.cumsum(t_sorted)))
    fp = np.concatenate(([0], np.cumsum(~t_sorted)))
    fn = tp[-1] - tp
    cost = fn * cost_fn + fp * cost_fp
    valid = np.ones(s.size + 1, dtype=bool)
    valid[1:-1] = s_sorted[1:] != s_sorted[:-1]
    cost = np.where(valid, cost, np.inf)
    k = int(np.argmin(cost))  # first minimum = fewest flags
    if k == 0:
        return float(np.nextafter(s_sorted[0], np.inf))
    return float(s_sorted[k - 1])


def psi_from_counts(expected: Any, actual: Any) -> float | np.ndarray:
    """PSI between binned counts (or shares); the last axis holds the bins.

    Counts are turned into shares, shares below :data:`PSI_FLOOR` are floored.
    A 2-d ``actual`` (windows x bins) gives one PSI per row.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.ndim != 1:
        raise MonitorError(f"expected must be 1-d bin counts, got shape {e.shape}")
    if a.shape[-1] != e.shape[0]:
        raise MonitorError(f"expected and actual must have the same number of bins, got "
                         f"{e.shape[0]} and {a.shape[-1]}")
    if (e < 0).any() or (a < 0).any():
        raise MonitorError("bin counts must be >= 0")
    if e.sum() <= 0:
        raise MonitorError("expected counts must not all be zero")
    e_share = np.maximum(e / e.sum(), PSI_FLOOR)
    with np.errstate(invalid="ignore", divide="ignore"):
        a_share = np.maximum(a / a.sum(axis=-1, keepdims=True), PSI_FLOOR)
        out = np.sum((a_share - e_share) * np.log(a_share / e_share), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def psi(expected: Any, actual: Any, bins: int | Sequence[float] = 10) -> float:
    """PSI of sample ``actual`` against reference sample ``expected``.

    ``bins`` is a number of bins cut at the reference's quantiles (equal
    expected shares) or explicit inner edges.  Values outside the reference
    range fall in the first or last bin.
    """
    e = np.asarray(expected, dtype=float).ravel()
    a = np.asarray(actual, dtype=float).ravel()
    for name, arr in (("expected", e), ("actual", a)):
        if arr.size == 0:
            raise MonitorError(f"{name} sample must not be empty")
        if np.isnan(arr).any():
            raise MonitorError(f"{name} sample must not contain NaN (bin missing values "
                             "yourself and use psi_from_counts)")
    if isinstance(bins, (int, np.integer)):
        if bins < 2:
            raise MonitorError(f"bins must be >= 2, got {bins}")
        edges = np.unique(np.quantile(e, np.linspace(0, 1, int(bins) + 1)[1:-1]))
    else:
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or edges.size == 0 or np.any(np.diff(edges) <= 0):
            raise MonitorError("bins must be an int or a non-empty increasing sequence of edges")
    k = edges.size + 1
    e_counts = np.bincount(np.searchsorted(edges, e, side="right"), minlength=k)
    a_counts = np.bincount(np.searchsorted(edges, a, side="right"), minlength=k)
    return float(psi_from_counts(e_counts, a_counts))
