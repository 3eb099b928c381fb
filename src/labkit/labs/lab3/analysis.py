"""Lab 3's runs and numbers: the evaluation set, alert runs, rule reports, drift and drills.

Runs that the learner's answer cannot change (the evaluation data, the alert
run a paging rule is evaluated on) are cached per seed, so the notebook, the
check cells and the hidden tests share them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from labkit.checkpoints import CheckpointError
from labkit.labs.lab3.forms import containment_answer_problems, rule_answer_problems
from labkit.labs.lab3.scenarios import (
    ALERT_SCENARIO,
    DRIFT_SCENARIOS,
    DRILL_SCENARIO,
    OFFLINE_SCENARIO,
    THRESHOLD_COSTS,
)
from labkit.monitor import AlertRule, MonitorResult, best_threshold_for_cost, expected_cost, run_monitor
from labkit.monitor.knobs import NUMERIC_FEATURES

__all__ = ["evaluation_set", "best_cost", "null_rules", "alert_run", "rule_report",
           "drift_runs", "drill_run", "drill_transaction", "containment"]


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


def best_cost(seed: int) -> float:
    """The cost per transaction of the cheapest threshold on ``seed``'s evaluation set."""
    return _evaluation(int(seed))[2]


def _raise(problems: list[str]) -> None:
    if problems:
        raise CheckpointError("\n".join(problems))


def null_rules(answer: Mapping[str, Any], *, action: str = "page",
               features: Sequence[str] = NUMERIC_FEATURES) -> list[AlertRule]:
    """One null-rate rule per feature with the answer's threshold and window."""
    _raise(rule_answer_problems(answer, "rule"))
    return [AlertRule(name=f"null-rate:{f}", metric=f"input.null_rate.{f}",
                      threshold=float(answer["threshold"]), window_h=int(answer["window_h"]),
                      owner="data-platform on-call", action=action) for f in features]


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


def drift_runs(seed: int) -> dict[str, MonitorResult]:
    """No drift, data drift and concept drift on one seed."""
    return {name: run_monitor(knobs, seed=seed) for name, knobs in DRIFT_SCENARIOS.items()}


def drill_run(seed: int) -> MonitorResult:
    """The governance drill on one seed."""
    return run_monitor(DRILL_SCENARIO, seed=seed)


def drill_transaction(result: MonitorResult) -> int:
    """The first missed fraud with ``device_risk`` missing, 6 h into the incident."""
    tx = result.transactions
    start = next(e.start_h for e in result.events if e.kind == "null_feature")
    hits = np.flatnonzero((tx["hour"] >= start + 6) & tx["label"] & (tx["decision"] == 0)
                          & np.isnan(tx["device_risk"]))
    return int(hits[0])


def containment(answer: Mapping[str, Any], seed: int) -> tuple[MonitorResult, MonitorResult]:
    """The drill without containment and with the answer's shutdown rule, same seed."""
    _raise(containment_answer_problems(answer))
    rules = null_rules({"threshold": answer["threshold"], "window_h": answer["window_h"]},
                       action="shutdown", features=("device_risk",))
    knobs = {**DRILL_SCENARIO, "shutdown.fallback": answer["fallback"],
             "shutdown.duration_h": int(answer["duration_h"])}
    return run_monitor(DRILL_SCENARIO, seed=seed), run_monitor(knobs, seed=seed, rules=rules)
