"""Actions: retraining treated as a release, and the review queue of a shutdown.

A retraining is a release, with a release's discipline:

1. **train** a candidate on the most recent labelled data (labels arrive
   ``labels.delay_h`` late, so "recent" means up to that long ago), dropping
   any feature missing in more than ``retrain.max_null_share`` of it;
2. **gate** it: on a holdout of the newest labelled days (not used for
   training) its cost must not exceed the current model's by more than
   ``retrain.gate_tolerance``; otherwise the current model stays;
3. **roll out** gradually: a canary scores ``retrain.canary_share`` of
   traffic for ``retrain.canary_h`` hours;
4. **roll back** when the canary's live flag rate departs from what the gate
   measured by more than ``retrain.rollback_flag_ratio`` of it (the world the
   candidate meets is not the one it was judged on); else roll out fully.

Each step writes an audit record (:mod:`labkit.monitor.audit`).

Switching the model off sends decisions to a fallback whose reviews queue up
for a team of fixed capacity: :func:`review_backlog` gives the queue and
the wait, the workload a shutdown creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.monitor.metrics import best_threshold_for_cost, expected_cost
from labkit.monitor.model import ModelVersion, train_model
from labkit.monitor.world import Stream

__all__ = ["Candidate", "train_candidate", "review_backlog", "labelled_window"]

_MIN_TRAIN_H = 24


def labelled_window(world: Stream, first_h: int, last_h: int) -> dict[str, np.ndarray]:
    """Inputs and labels of the transactions in hours ``first_h`` .. ``last_h``."""
    sl = slice(int(world.starts[max(0, first_h)]), int(world.starts[last_h + 1]))
    return {"amount": world.amount[sl], "velocity": world.velocity[sl],
            "device_risk": world.device_risk[sl], "category": world.category[sl],
            "label": world.label[sl]}


@dataclass(frozen=True, eq=False)
class Candidate:
    """A trained candidate and the gate's verdict on it."""

    model: ModelVersion
    threshold: float
    passed: bool
    cost_current: float
    cost_candidate: float
    expected_flag_rate: float
    holdout: tuple[int, int]

    def detail(self) -> dict[str, Any]:
        return {"holdout_h": [int(h) for h in self.holdout],
                "cost_per_tx_current": round(self.cost_current, 4),
                "cost_per_tx_candidate": round(self.cost_candidate, 4),
                "expected_flag_rate": round(self.expected_flag_rate, 5),
                "threshold": self.threshold}


def train_candidate(world: Stream, config: Any, *, at_h: int, version: int,
                    current: ModelVersion, threshold: float) -> Candidate | str:
    """Train and gate a candidate at hour ``at_h``; a string says why it was skipped."""
    rt = config.retrain
    last = at_h - config.labels.delay_h
    holdout_h = max(1, int(round(rt.holdout_days * 24)))
    hold_first = last - holdout_h + 1
    train_last = hold_first - 1
    train_first = max(0, train_last - int(round(rt.train_days * 24)) + 1)
    if hold_first < 0 or train_last - train_first + 1 < _MIN_TRAIN_H:
        return (f"not enough labelled data: labels reach hour {last}, need "
                f"{holdout_h + _MIN_TRAIN_H} labelled hours")
    train = labelled_window(world, train_first, train_last)
    hold = labelled_window(world, hold_first, last)
    if not train["label"].any() or train["label"].all() or not hold["label"].size:
        return "training window has no fraud labels"
    model = train_model(train, version=version, trained_at_h=at_h,
                        data_snapshot=f"tx-h{train_first:04d}-h{train_last:04d}",
                        max_null_share=rt.max_null_share)
    c = config.cost
    new_threshold = threshold
    if rt.retune_threshold:
        new_threshold = best_threshold_for_cost(train["label"], model.score(train),
                                                cost_fn=c.missed_fraud, cost_fp=c.false_block)
        new_threshold = float(min(1.0, max(0.0, new_threshold)))
    y = hold["label"]
    s_new = model.score(hold)
    cost_cur = expected_cost(y, current.score(hold), threshold, cost_fn=c.missed_fraud,
                             cost_fp=c.false_block)
    cost_new = expected_cost(y, s_new, new_threshold, cost_fn=c.missed_fraud,
                             cost_fp=c.false_block)
    return Candidate(model=model, threshold=new_threshold,
                     passed=cost_new <= cost_cur * (1 + rt.gate_tolerance) + 1e-12,
                     cost_current=cost_cur, cost_candidate=cost_new,
                     expected_flag_rate=float(np.mean(s_new >= new_threshold)),
                     holdout=(hold_first, last))


def review_backlog(reviews_per_hour: np.ndarray, capacity_per_hour: float) -> tuple[
        np.ndarray, np.ndarray]:
    """Queue left at the end of each hour, and the wait (hours) a new review faces.

    The team clears up to ``capacity_per_hour`` each hour, first come first served.
    """
    reviews = np.asarray(reviews_per_hour, dtype=float)
    backlog = np.zeros(reviews.size)
    left = 0.0
    for h, arriving in enumerate(reviews):
        left = max(0.0, left + arriving - capacity_per_hour)
        backlog[h] = left
    if capacity_per_hour > 0:
        wait = backlog / capacity_per_hour
    else:
        wait = np.where(backlog > 0, np.inf, 0.0)
    return backlog, wait
