"""Lab 3's scenarios: the knobs of each activity and the runs they share.

Every scenario is a dict of :mod:`labkit.monitor` knobs, written down once for the
notebook, the views and the judges.  Runs that paging rules cannot change are cached per
seed, so the notebook, the check cells and the hidden tests share them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from labkit.checkpoints import CheckpointError
from labkit.monitor import (AlertRule, MonitorResult, best_threshold_for_cost, expected_cost,
                            run_monitor)
from labkit.monitor.knobs import MONITOR_CATALOGUE, NUMERIC_FEATURES

__all__ = ["THRESHOLD_COSTS", "OFFLINE_SCENARIO", "evaluation_set", "ALERT_SCENARIO",
           "ALERT_BUDGET", "null_rules", "alert_run", "rule_report", "DRIFT_SCENARIOS",
           "drift_runs", "RETRAIN_SCENARIO", "RETRAIN_POLICIES", "RETRAIN_TASK_KNOBS",
           "RETRAIN_BUDGET", "DRILL_SCENARIO", "TRACE_KEYS", "drill_transaction",
           "CONTAIN_BUDGET", "containment"]

# --- 1. offline is not online -------------------------------------------------------
#: What mistakes cost in the threshold task: a missed fraud, a blocked good customer.
THRESHOLD_COSTS = {"cost_fn": 120.0, "cost_fp": 15.0}
#: Two weeks of production with messy inputs: base nulls, outliers, one benign blip a week.
OFFLINE_SCENARIO: dict[str, Any] = {"stream.weeks": 2, "stream.null_blips_per_week": 1.0,
                                    "cost.missed_fraud": 120.0, "cost.false_block": 15.0}


@lru_cache(maxsize=8)
def _evaluation(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    res = run_monitor(OFFLINE_SCENARIO, seed=seed)
    tx = res.transactions
    known = tx["hour"] + res.config.labels.delay_h < res.config.horizon_h
    data = {"amount": tx["amount"], "velocity": tx["velocity"],
            "device_risk": tx["device_risk"], "category": tx["category"]}
    y, s = tx["label"][known], res.models[1].score(data)[known]
    for arr in (y, s):
        arr.setflags(write=False)
    best = best_threshold_for_cost(y, s, **THRESHOLD_COSTS)
    return y, s, expected_cost(y, s, best, **THRESHOLD_COSTS)


def evaluation_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and v1 scores of the production transactions whose labels have arrived."""
    y, s, _ = _evaluation(int(seed))
    return y, s


def _number(answer: Any, task: str, lo: float, hi: float) -> float:
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{task}: not answered yet; set it to a number.")
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.floating)):
        raise CheckpointError(f"{task}: the answer must be a number, got {answer!r}.")
    value = float(answer)
    if not lo <= value <= hi:
        raise CheckpointError(f"{task}: {value:g} is outside {lo:g} .. {hi:g}.")
    return value


# --- 2. monitoring that people will still read ----------------------------------------
#: Three weeks; device_risk goes 85% null on day 10 for three days; three blips a week.
ALERT_SCENARIO: dict[str, Any] = {"stream.weeks": 3, "incident.null_at_day": 10.0,
                                  "stream.null_blips_per_week": 3.0}
#: Detect the incident within this many hours, with at most this many false alerts a week.
ALERT_BUDGET = {"detect_h": 6, "false_per_week": 1.0}


def _rule_answer(answer: Any, task: str) -> tuple[float, int]:
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{task}: not answered yet; set it to a dict such as "
                              "{'threshold': 0.5, 'window_h': 2}.")
    if not isinstance(answer, Mapping) or set(answer) != {"threshold", "window_h"}:
        raise CheckpointError(f"{task}: the answer must be a dict with exactly the keys "
                              f"'threshold' and 'window_h', got {answer!r}.")
    threshold = _number(answer["threshold"], task, 0.0, 1.0)
    window = answer["window_h"]
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) \
            or not 1 <= window <= 168:
        raise CheckpointError(f"{task}: window_h must be a whole number of hours from 1 to "
                              f"168, got {window!r}.")
    return threshold, int(window)


def null_rules(answer: Mapping[str, Any], *, action: str = "page",
               features: Sequence[str] = NUMERIC_FEATURES) -> list[AlertRule]:
    """One null-rate rule per feature with the answer's threshold and window."""
    threshold, window = _rule_answer(answer, "rule")
    return [AlertRule(name=f"null-rate:{f}", metric=f"input.null_rate.{f}",
                      threshold=threshold, window_h=window, owner="data-platform on-call",
                      action=action) for f in features]


@lru_cache(maxsize=8)
def alert_run(seed: int) -> MonitorResult:
    """The activity 2 scenario on one seed (paging rules do not change a run, so it is shared)."""
    return run_monitor(ALERT_SCENARIO, seed=seed)


def rule_report(answer: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """How the answer's rules did on one seed: detection, false alerts, the alerts."""
    res = alert_run(int(seed))
    alerts, summary = res.evaluate(null_rules(answer))
    det = summary["detection"]["null_feature:device_risk"]
    return {"seed": seed, "time_to_detect_h": det["time_to_detect_h"],
            "alerts": summary["total"], "false": summary["false"],
            "false_per_week": round(summary["false_per_week"], 2), "result": res,
            "alerts_table": alerts}


# --- 3. drift and retraining ---------------------------------------------------------
#: Four weeks each: no drift, data drift and concept drift from day 8.
DRIFT_SCENARIOS: dict[str, dict[str, Any]] = {
    "no drift": {"stream.weeks": 4, "stream.tx_per_hour": 200},
    "data drift": {"stream.weeks": 4, "stream.tx_per_hour": 200, "drift.data_at_day": 8.0},
    "concept drift": {"stream.weeks": 4, "stream.tx_per_hour": 200,
                      "drift.concept_at_day": 8.0},
}


def drift_runs(seed: int) -> dict[str, MonitorResult]:
    return {name: run_monitor(knobs, seed=seed) for name, knobs in DRIFT_SCENARIOS.items()}


#: Six weeks; fraudsters change tactics on day 10 (concept drift).
RETRAIN_SCENARIO: dict[str, Any] = {"stream.weeks": 6, "stream.tx_per_hour": 200,
                                    "drift.concept_at_day": 10.0}
RETRAIN_POLICIES: dict[str, dict[str, Any]] = {
    "never": {},
    "every 7 days": {"retrain.policy": "schedule", "retrain.every_days": 7},
    "on a recall trigger": {"retrain.policy": "trigger", "retrain.trigger_on": ("recall",),
                            "alerts.recall_floor": 0.25},
}
RETRAIN_TASK_KNOBS = ("retrain.policy", "retrain.every_days", "retrain.trigger_on",
                      "retrain.cooldown_days", "retrain.train_days", "retrain.retune_threshold",
                      "alerts.recall_floor", "alerts.precision_floor", "alerts.label_window_h",
                      "alerts.psi_threshold", "alerts.psi_window_h")
#: Cost per transaction over the six weeks, and candidates trained (each is a release to review).
RETRAIN_BUDGET = {"cost_per_tx": 3.60, "retrains": 4}


# --- 4. governance drill ---------------------------------------------------------------
#: Two weeks; the risk team lowers the threshold on day 5; device_risk goes 85% null on
#: day 8 for three days; blips as in activity 2.
DRILL_SCENARIO: dict[str, Any] = {"stream.weeks": 2, "incident.null_at_day": 8.0,
                                  "stream.null_blips_per_week": 3.0,
                                  "decision.change_at_day": 5.0, "decision.new_threshold": 0.15}
TRACE_KEYS = ("model_version", "data_snapshot", "features", "threshold", "missing")


def drill_transaction(result: MonitorResult) -> int:
    """The first missed fraud with ``device_risk`` missing, 6 h into the incident."""
    tx = result.transactions
    start = next(e.start_h for e in result.events if e.kind == "null_feature")
    hits = np.flatnonzero((tx["hour"] >= start + 6) & tx["label"] & (tx["decision"] == 0)
                          & np.isnan(tx["device_risk"]))
    return int(hits[0])


#: Containment must cut the incident's cost by this share, keep reviews this fast, and
#: never switch the model off outside the incident.
CONTAIN_BUDGET = {"cost_cut": 0.10, "review_wait_h": 2.0, "detect_h": 8}
_FALLBACKS = MONITOR_CATALOGUE["shutdown.fallback"].choices


def _contain_answer(answer: Any) -> dict[str, Any]:
    keys = {"threshold", "window_h", "fallback", "duration_h"}
    if answer is None or answer is Ellipsis:
        raise CheckpointError("T5: not answered yet; set it to a dict with the keys "
                              "threshold, window_h, fallback and duration_h.")
    if not isinstance(answer, Mapping) or set(answer) != keys:
        raise CheckpointError("T5: the answer must be a dict with exactly the keys threshold, "
                              f"window_h, fallback and duration_h, got {answer!r}.")
    _rule_answer({"threshold": answer["threshold"], "window_h": answer["window_h"]}, "T5")
    if answer["fallback"] not in _FALLBACKS:
        raise CheckpointError(f"T5: fallback must be one of {', '.join(_FALLBACKS)}, got "
                              f"{answer['fallback']!r}.")
    d = answer["duration_h"]
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= 168:
        raise CheckpointError(f"T5: duration_h must be a whole number of hours from 1 to 168, "
                              f"got {d!r}.")
    return dict(answer)


def containment(answer: Mapping[str, Any], seed: int) -> tuple[MonitorResult, MonitorResult]:
    """The drill without containment and with the answer's shutdown rule, same seed."""
    a = _contain_answer(answer)
    rules = null_rules({"threshold": a["threshold"], "window_h": a["window_h"]},
                       action="shutdown", features=("device_risk",))
    knobs = {**DRILL_SCENARIO, "shutdown.fallback": a["fallback"],
             "shutdown.duration_h": int(a["duration_h"])}
    return run_monitor(DRILL_SCENARIO, seed=seed), run_monitor(knobs, seed=seed, rules=rules)
